import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolve } from 'node:path'
import { HostContext } from '../../lib/ssh/host-context.ts'
import { DryRunBackend } from '../../lib/ssh/dry-run-backend.ts'
import type { RunEvent } from '../../lib/report/events.ts'

const host = (name: string) => ({ name, hostname: name, user: undefined, port: undefined, roles: new Set<string>(), properties: {} })

test('two hosts downloading to one local path in a run are told, once; {host} paths and one host again are not', async () => {
  const events: RunEvent[] = []
  const reporter = { emit: (event: RunEvent) => void events.push(event) }
  const shared = new Map<string, string>()
  const [h01, h02, h03] = ['h01', 'h02', 'h03'].map((name) => new HostContext(host(name), new DryRunBackend(), reporter, shared))
  for (const remote of [h01, h02, h03]) {
    await remote?.download('/var/log/app.log', 'logs-test/all-app.log')
    await remote?.download('/var/log/app.log', 'logs-test/{host}/app.log')
  }
  await h01?.download('/var/log/app.log', 'logs-test/h01-only.log')
  await h01?.download('/var/log/app.log', 'logs-test/h01-only.log')
  const warnings = events.flatMap((event) => (event.type === 'message' && event.level === 'warn' ? [event.text] : []))
  assert.deepEqual(warnings, [`download to ${resolve('logs-test/all-app.log')}: h01 wrote it too in this run, so one host's copy replaces the other's; put {host} in the path to keep each (logs/{host}/)`])
})
