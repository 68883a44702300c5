import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resetSession, Session } from '../../lib/runner/session.ts'
import { on, primary, roles, server } from '../../lib/index.ts'
import { onHosts } from '../../lib/runner/on.ts'
import { parseFailBudget } from '../../lib/runner/fail-budget.ts'
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

test('on() skips given hosts ROLES=/HOSTS= leave out and says which filter left out which, once, unless told to ignore the filters', async () => {
  const session = new Session()
  const lines: string[] = []
  session.reporter = { emit: (event: RunEvent) => void (event.type === 'message' && lines.push(`${event.level}: ${event.text}`)) }
  const web1 = session.inventory.server('web1', { roles: ['web'] })
  const web2 = session.inventory.server('web2', { roles: ['web'] })
  const db1 = session.inventory.server('db1', { roles: ['db'] })
  const ranOn = async (options: { ignoreFilters?: boolean } = {}) => {
    const names: string[] = []
    await onHosts(session, [web1, web2, db1], options, async (remote) => void names.push(remote.host.name))
    return names.sort()
  }
  assert.deepEqual(await ranOn(), ['db1', 'web1', 'web2'], 'no filter: every given host')
  assert.deepEqual(lines, [])
  session.filter = { roles: [], hosts: ['web2'] }
  assert.deepEqual(await ranOn(), ['web2'])
  assert.deepEqual(await ranOn(), ['web2'])
  assert.deepEqual(lines, ['info: on(): HOSTS=web2 leaves out web1, db1'], 'said once a run')
  session.filter = { roles: ['db'], hosts: [] }
  assert.deepEqual(await ranOn(), ['db1'])
  assert.equal(lines.at(-1), 'info: on(): ROLES=db leaves out web1, web2')
  session.filter = { roles: ['/^w/'], hosts: ['web1'] }
  assert.deepEqual(await ranOn(), ['web1'])
  assert.equal(lines.at(-1), 'info: on(): HOSTS=web1 leaves out web2; ROLES=/^w/ and HOSTS=web1 leave out db1')
  assert.deepEqual(await ranOn({ ignoreFilters: true }), ['db1', 'web1', 'web2'], 'a swarm\'s tracker and seeder serve a narrowed run')
})

test('in parallel, hosts still waiting for a slot (limit, --concurrency) never start once a host has failed, unless the run carries on', async () => {
  const names = ['a', 'b', 'c', 'd']
  const run = async (options: Parameters<typeof onHosts>[2], setUp: (session: Session) => void = () => {}) => {
    const { session } = sessionSaying()
    for (const name of names) session.inventory.server(name)
    setUp(session)
    const ran: string[] = []
    const outcome = await onHosts(session, session.inventory.all(), options, async (remote) => {
      ran.push(remote.host.name)
      if (remote.host.name === 'a') throw new Error('a failed')
    }).catch((error: Error) => error)
    return { ran, unstarted: [...session.unstartedHosts], failed: outcome instanceof Error ? outcome.message : 'no error' }
  }
  assert.deepEqual(await run({ limit: 1 }), { ran: ['a'], unstarted: ['b', 'c', 'd'], failed: 'failed on 1 of 4 hosts: a' })
  assert.deepEqual(await run({}, (session) => session.setConcurrency(2)), { ran: ['a', 'b'], unstarted: ['c', 'd'], failed: 'failed on 1 of 4 hosts: a' })
  assert.deepEqual(await run({ limit: 1, onError: 'continue' }), { ran: names, unstarted: [], failed: 'no error' })
  assert.deepEqual(await run({ limit: 1 }, (session) => { session.failBudget = parseFailBudget('1'); session.targetCount = 4 }), { ran: names, unstarted: [], failed: 'no error' })
  // Hosts the run cannot do without (a swarm's tracker and seeder): max_fail does not carry on past them.
  assert.deepEqual(await run({ limit: 1, onError: 'fail' }, (session) => { session.failBudget = parseFailBudget('1'); session.targetCount = 4 }), { ran: ['a'], unstarted: ['b', 'c', 'd'], failed: 'failed on 1 of 4 hosts: a' })
})

test("Ctrl-C's cleanups reach hosts while the blocks they stop hold every --concurrency slot", async () => {
  const { session } = sessionSaying()
  for (const name of ['a', 'b', 'c']) session.inventory.server(name)
  session.setConcurrency(2)
  let release = () => {}
  const released = new Promise<void>((resolve) => (release = resolve))
  const cleaned: string[] = []
  // As murder's peering: each block waits on a command only its cleanup (the agents' stop) ends.
  const removeCleanup = session.interruption.add(async () => {
    await onHosts(session, session.inventory.all(), {}, async (remote) => void cleaned.push(remote.host.name))
    release()
  })
  const stopListening = session.interruption.listen(session, { isStartedByNpm: false, quit: () => { throw new Error('quit') } })
  try {
    const blocks = onHosts(session, session.inventory.all(), {}, () => released).catch((error: Error) => error)
    await new Promise((resolve) => setTimeout(resolve, 20))
    process.emit('SIGINT')
    const outcome = await Promise.race([blocks, new Promise((resolve) => setTimeout(() => resolve('hung'), 2000).unref())])
    assert.notEqual(outcome, 'hung', 'the cleanup ran while the blocks held the slots')
    assert.deepEqual(cleaned.sort(), ['a', 'b', 'c'])
  } finally {
    stopListening()
    removeCleanup()
    release()
  }
})

test("Ctrl-C stops a sequence that carries on past failures: the hosts after it never start", async () => {
  const { session } = sessionSaying()
  for (const name of ['a', 'b', 'c', 'd']) session.inventory.server(name)
  const stopListening = session.interruption.listen(session, { isStartedByNpm: false, quit: () => { throw new Error('quit') } })
  try {
    const ran: string[] = []
    await onHosts(session, session.inventory.all(), { in: 'sequence', wait: 1, onError: 'continue' }, async (remote) => {
      ran.push(remote.host.name)
      if (remote.host.name === 'a') process.emit('SIGINT')
    })
    assert.deepEqual(ran, ['a'])
    assert.deepEqual([...session.unstartedHosts], ['b', 'c', 'd'])
  } finally {
    stopListening()
  }
})

test('on(primary(ROLE)) of a role no server has runs nothing, as SSHKit\'s on(nil); primary() says the role is unknown once, as roles() does', async () => {
  const session = resetSession()
  const warnings: string[] = []
  session.reporter = { emit: (event: RunEvent) => void (event.type === 'message' && event.level === 'warn' && warnings.push(event.text)) }
  server('web1', { roles: ['web'] })
  const ran: string[] = []
  await on(primary('db'), async (remote) => void ran.push(remote.host.name))
  await on(primary('db'), async (remote) => void ran.push(remote.host.name))
  assert.deepEqual(ran, [])
  assert.deepEqual(warnings, ['primary("db"): no server has role db (roles: web)'])
})
