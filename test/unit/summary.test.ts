import { test } from 'node:test'
import assert from 'node:assert/strict'
import { renderSummary } from '../../lib/report/summary.ts'
import { createPaint } from '../../lib/report/format.ts'

const paint = createPaint(false)
const base = { durationMs: 1200, tasks: [], succeededHosts: ['h01', 'h02'] }

test('hosts outside ROLES=/HOSTS= that took part (a tracker, a seeder) are said apart from those targeted', () => {
  assert.deepEqual(renderSummary({ ...base, succeededHosts: ['h05'], helperHosts: ['h01'], ok: true, failedHosts: [] }, paint), [
    '✔ 1 host(s) succeeded: h05',
    '· 1 host(s) outside ROLES=/HOSTS= took part: h01',
    'Finished in 1.20s',
  ])
})

test('a dry run does not call its hosts succeeded: nothing ran on them', () => {
  assert.deepEqual(renderSummary({ ...base, ok: true, failedHosts: [], isDryRun: true }, paint), [
    '✔ 2 host(s) would run the commands above (dry run: nothing ran): h01, h02',
    'Dry run finished in 1.20s',
  ])
})

test('a run that succeeded lists its hosts as succeeded; one that failed does not call them so', () => {
  assert.deepEqual(renderSummary({ ...base, ok: true, failedHosts: [] }, paint), ['✔ 2 host(s) succeeded: h01, h02', 'Finished in 1.20s'])
  assert.deepEqual(renderSummary({ ...base, ok: false, failedHosts: [], error: 'deploy:verify failed in wave 1 of 2' }, paint), [
    '· 2 host(s) had no failure of their own: h01, h02',
    'error: deploy:verify failed in wave 1 of 2',
    'Failed in 1.20s',
  ])
  assert.deepEqual(renderSummary({ ...base, ok: false, failedHosts: [{ host: 'h03', message: 'h03: `false` exited 1' }] }, paint), [
    '· 2 host(s) had no failure of their own: h01, h02',
    '✖ 1 host(s) failed:',
    '    h03: `false` exited 1',
    'Failed in 1.20s',
  ])
})

test('hosts the run stopped before are said apart from the failed ones', () => {
  assert.deepEqual(renderSummary({ ...base, succeededHosts: ['h01'], ok: false, failedHosts: [{ host: 'h02', message: 'h02: `false` exited 1' }], unstartedHosts: ['h03', 'h04'] }, paint), [
    '· 1 host(s) had no failure of their own: h01',
    '· 2 host(s) never started (the run stopped before them): h03, h04',
    '✖ 1 host(s) failed:',
    '    h02: `false` exited 1',
    'Failed in 1.20s',
  ])
})

test('hosts that failed the same way share one line, in the order of each failure first seen', () => {
  const lockHeld = (host: string) => ({ host, message: `${host}: app is being deployed by alice@ws (lock /srv/app/deploy.lock); wait, or pass unlock=1 if that deploy died.` })
  const failedHosts = [lockHeld('h01'), { host: 'h02', message: 'h02: `false` exited 1' }, lockHeld('h03'), lockHeld('h04')]
  assert.deepEqual(renderSummary({ ...base, succeededHosts: [], ok: false, failedHosts }, paint), [
    '✖ 4 host(s) failed:',
    '    h01, h03, h04 (3 hosts): app is being deployed by alice@ws (lock /srv/app/deploy.lock); wait, or pass unlock=1 if that deploy died.',
    '    h02: `false` exited 1',
    'Failed in 1.20s',
  ])
})
