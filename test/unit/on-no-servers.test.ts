import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resetSession, Session } from '../../lib/runner/session.ts'
import { roles, server } from '../../lib/index.ts'
import { onHosts } from '../../lib/runner/on.ts'
import type { RunEvent } from '../../lib/report/events.ts'

function sessionSaying(): { session: Session; warnings: string[] } {
  const session = new Session()
  const warnings: string[] = []
  session.reporter = { emit: (event: RunEvent) => void (event.type === 'message' && event.level === 'warn' && warnings.push(event.text)) }
  return { session, warnings }
}

test('on() with no server declared at all says so once, instead of a task that did nothing passing in silence', async () => {
  const { session, warnings } = sessionSaying()
  await onHosts(session, [], {}, async () => {})
  await onHosts(session, [], {}, async () => {})
  assert.deepEqual(warnings, ['no servers to run on: give a stage (`deploy STAGE TASK`, from roles/STAGE.yaml) or declare servers in the deployfile'])
})

test('on() with no hosts left by a filter or a role, while servers exist, says nothing of the kind', async () => {
  const { session, warnings } = sessionSaying()
  session.inventory.server('web1')
  await onHosts(session, [], {}, async () => {})
  assert.deepEqual(warnings, [])
})

test('roles() asked for a role no server has (usually a typo) says so once per role', () => {
  const session = resetSession()
  const warnings: string[] = []
  session.reporter = { emit: (event: RunEvent) => void (event.type === 'message' && event.level === 'warn' && warnings.push(event.text)) }
  server('web1', { roles: ['web'] })
  server('db1', { roles: ['db'] })
  assert.deepEqual(roles('wbe'), [])
  assert.deepEqual(roles('wbe', 'db').map((host) => host.name), ['db1'])
  assert.deepEqual(roles('all').length, 2)
  assert.deepEqual(warnings, ['roles("wbe"): no server has role wbe (roles: db, web)'])
})
