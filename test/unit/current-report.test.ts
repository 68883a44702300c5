import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeCurrentLinks } from '../../lib/deploy/current-report.ts'

const OLD = '/srv/app/releases/20261205100000'
const NEW = '/srv/app/releases/20261205110000'

test('a failed run says which hosts serve the new release, which kept the old one, and which were not seen', () => {
  const lines = describeCurrentLinks(
    [
      { host: 'h03', target: NEW, before: OLD },
      { host: 'h01', target: NEW, before: OLD },
      { host: 'h02', target: OLD, before: OLD },
      { host: 'h04', target: undefined, before: OLD },
      { host: 'h05', target: null },
      { host: 'h06', target: '/srv/app/releases/20261204000000', before: OLD },
    ],
    NEW
  )
  assert.deepEqual(lines, [
    `the new release ${NEW} is live (current) on h01, h03: the run failed after publishing it there`,
    `current -> ${OLD} on h02, as before this run`,
    'current unknown on h04: not reachable; look there before deploying again',
    'no current on h05',
    'current -> /srv/app/releases/20261204000000 on h06',
  ])
})

test('a run that made no release (a rollback) names no release as new', () => {
  assert.deepEqual(describeCurrentLinks([{ host: 'h01', target: NEW, before: NEW }], undefined), [`current -> ${NEW} on h01, as before this run`])
})
