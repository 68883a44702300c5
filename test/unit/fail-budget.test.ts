import { test } from 'node:test'
import assert from 'node:assert/strict'
import { allowedFailures, parseFailBudget, roundedAwayBudget } from '../../lib/runner/fail-budget.ts'
import { Session } from '../../lib/runner/session.ts'
import { onHosts } from '../../lib/runner/on.ts'

test('max_fail reads a count or a percentage; nothing means no failure allowed', () => {
  assert.equal(allowedFailures(parseFailBudget(undefined), 8), 0)
  assert.equal(allowedFailures(parseFailBudget(''), 8), 0)
  assert.equal(allowedFailures(parseFailBudget('2'), 8), 2)
  assert.equal(allowedFailures(parseFailBudget(3), 8), 3)
  assert.equal(allowedFailures(parseFailBudget('25%'), 8), 2)
  assert.equal(allowedFailures(parseFailBudget('10%'), 8), 0, 'rounds down')
  assert.equal(roundedAwayBudget(parseFailBudget('10%'), 8), 'max_fail=10% of 8 targeted host(s) allows no failed host (a percentage rounds down); max_fail=1 carries on past one')
  for (const [value, hosts] of [['25%', 8], ['0%', 8], ['1', 8], ['', 8]] as const) assert.equal(roundedAwayBudget(parseFailBudget(value), hosts), undefined, `${value} of ${hosts}`)
  assert.equal(allowedFailures(parseFailBudget('10%'), 30), 3)
  assert.equal(allowedFailures(parseFailBudget('100%'), 7), 7)
})

test('max_fail rejects what it cannot read, naming the value', () => {
  for (const bad of ['-1', 'two', '150%', '1.5', '%', '10 %x']) {
    assert.throws(() => parseFailBudget(bad), (error: Error) => error.message.includes(`got "${bad.trim()}"`), bad)
  }
})

/** Runs `on` in sequence over hosts a, b, c where b fails; returns the hosts whose block ran. */
async function sequenceWithFailingB(budget: string): Promise<{ ran: string[]; unstarted: string[]; error?: Error }> {
  const session = new Session()
  const hosts = ['a', 'b', 'c'].map((name) => session.inventory.server(name))
  session.failBudget = parseFailBudget(budget)
  session.targetCount = hosts.length
  const ran: string[] = []
  try {
    await onHosts(session, hosts, { in: 'sequence', wait: 0 }, async (remote) => {
      ran.push(remote.host.name)
      if (remote.host.name === 'b') throw new Error('b is down')
    })
    return { ran, unstarted: [...session.unstartedHosts] }
  } catch (error) {
    return { ran, unstarted: [...session.unstartedHosts], error: error as Error }
  }
}

test('in sequence, a failure within max_fail lets the hosts after it run; beyond it, they never start', async () => {
  const within = await sequenceWithFailingB('1')
  assert.deepEqual(within.ran, ['a', 'b', 'c'])
  assert.equal(within.error, undefined)
  const beyond = await sequenceWithFailingB('0')
  assert.deepEqual(beyond.ran, ['a', 'b'])
  assert.deepEqual(within.unstarted, [])
  assert.deepEqual(beyond.unstarted, ['c'], 'the summary can say c never started')
  assert.match(beyond.error?.message ?? '', /failed on 1 of 3 hosts: b/)
})

test('after Ctrl-C, an on() begun before it starts no more hosts and carries on past no failure, whatever max_fail', async () => {
  const session = new Session()
  const hosts = ['a', 'b', 'c'].map((name) => session.inventory.server(name))
  session.failBudget = parseFailBudget('2')
  session.targetCount = hosts.length
  const ran: string[] = []
  const run = onHosts(session, hosts, { in: 'sequence', wait: 0 }, async (remote) => {
    ran.push(remote.host.name)
    session.interruption.isInterrupted = true
    throw new Error(`${remote.host.name} was killed: stopped by Ctrl-C`)
  })
  await assert.rejects(run, /failed on 1 of 3 hosts: a/)
  assert.deepEqual(ran, ['a'])
  // The failure path's blocks begin after Ctrl-C and run on every host.
  const cleaned: string[] = []
  await onHosts(session, hosts, { limit: 1 }, async (remote) => {
    cleaned.push(remote.host.name)
  })
  assert.deepEqual(cleaned, ['a', 'b', 'c'])
})

test('after Ctrl-C, hosts an on() under a limit had not started fail as never started', async () => {
  const session = new Session()
  const hosts = ['a', 'b', 'c'].map((name) => session.inventory.server(name))
  session.targetCount = hosts.length
  const run = onHosts(session, hosts, { limit: 1 }, async () => {
    session.interruption.isInterrupted = true
  })
  await assert.rejects(run, /failed on 2 of 3 hosts: b, c/)
  assert.deepEqual(
    [...session.failedHosts].map(([host, error]) => `${host}: ${error.message}`),
    ['b: not started: Ctrl-C came first', 'c: not started: Ctrl-C came first']
  )
})
