import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Registry } from '../../lib/registry.ts'
import { checkHookCycles, checkHookTargets } from '../../lib/runner/hook-check.ts'
import { invokeTask, MAX_INVOCATION_DEPTH } from '../../lib/runner/invoke.ts'
import { Session } from '../../lib/runner/session.ts'
import { ConfigError } from '../../lib/errors.ts'

const at = (line: number) => ({ value: `deployfile.ts:${line}` })

function registryWith(tasks: string[]): Registry {
  const registry = new Registry()
  for (const name of tasks) registry.define(name, {}, async () => {}, at(1))
  return registry
}

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error))
    return error.message
  }
  return '(no error)'
}

test('a hook naming a missing task names the call and its line, with the closest tasks', () => {
  const registry = registryWith(['deploy:published', 'app:restart'])
  registry.after('deploy:publishd', 'app:restart', at(4))
  assert.equal(messageOf(() => checkHookTargets(registry)), 'deployfile.ts:4: after("deploy:publishd", "app:restart"): no task "deploy:publishd"; did you mean "deploy:published"?')

  const other = registryWith(['deploy:published'])
  other.before('deploy:published', 'nothing_like_it', at(7))
  assert.equal(messageOf(() => checkHookTargets(other)), 'deployfile.ts:7: before("deploy:published", "nothing_like_it"): no task "nothing_like_it"; run `deploy -T` to list tasks')
})

test('a hook declared before its task is defined is fine once both exist', () => {
  const registry = new Registry()
  registry.after('a', 'b', at(2))
  registry.define('a', {}, undefined, at(3))
  registry.define('b', {}, undefined, at(4))
  assert.equal(messageOf(() => checkHookTargets(registry)), '(no error)')
})

test('hooks asking for an impossible order are a cycle, spelled out', () => {
  const cases: [(r: Registry) => void, string, string][] = [
    [(r) => (r.before('a', 'b', at(2)), r.before('b', 'a', at(3))), 'a', 'Circular hooks: a -> b -> a (each must run before the next): before("b", "a") at deployfile.ts:3, before("a", "b") at deployfile.ts:2; remove one of them.'],
    [(r) => (r.after('a', 'b', at(2)), r.after('b', 'a', at(3))), 'a', 'Circular hooks: a -> b -> a (each must run before the next): after("a", "b") at deployfile.ts:2, after("b", "a") at deployfile.ts:3; remove one of them.'],
    [(r) => (r.before('a', 'b', at(2)), r.before('b', 'c', at(3)), r.before('c', 'b', at(4))), 'a', 'Circular hooks: b -> c -> b (each must run before the next): before("c", "b") at deployfile.ts:4, before("b", "c") at deployfile.ts:3; remove one of them.'],
    [(r) => r.before('a', 'a', at(5)), 'a', 'Circular hooks: a -> a (each must run before the next): before("a", "a") at deployfile.ts:5; remove one of them.'],
  ]
  for (const [declare, start, message] of cases) {
    const registry = registryWith(['a', 'b', 'c'])
    declare(registry)
    assert.equal(messageOf(() => checkHookCycles(registry, start)), message)
  }
})

test('hooks that agree on the order, or cycles the invoked task never reaches, are no cycle', () => {
  const registry = registryWith(['a', 'b', 'c', 'd'])
  registry.before('a', 'b', at(2))
  registry.after('b', 'a', at(3)) // b before a, twice over
  registry.after('c', 'd', at(4))
  registry.after('d', 'c', at(5))
  assert.equal(messageOf(() => checkHookCycles(registry, 'a')), '(no error)')
  assert.match(messageOf(() => checkHookCycles(registry, 'c')), /^Circular hooks: c -> d -> c /)
})

test('circular hooks fail the invocation before any task body runs', async () => {
  const session = new Session()
  const ran: string[] = []
  for (const name of ['a', 'b']) session.registry.define(name, {}, () => void ran.push(name), at(1))
  session.registry.before('a', 'b', at(2))
  session.registry.before('b', 'a', at(3))
  await assert.rejects(invokeTask(session, 'a'), /^ConfigError: Circular hooks: a -> b -> a /)
  assert.deepEqual(ran, [])
})

test('tasks invoking each other again and again stop at the depth bound with one line', async () => {
  const session = new Session()
  session.registry.define('x', {}, () => invokeTask(session, 'y', true), at(5))
  session.registry.define('y', {}, () => invokeTask(session, 'x', true), at(6))
  await assert.rejects(invokeTask(session, 'x'), (error: unknown) => {
    assert.ok(error instanceof ConfigError)
    assert.equal(
      error.message,
      `Tasks invoke each other without end: x -> y -> x -> y -> … (over ${MAX_INVOCATION_DEPTH} deep), from x (deployfile.ts:5); give invoke(…, { again: true }) a condition that stops it`
    )
    return true
  })
  let depth = 0
  session.registry.define('count', {}, () => (++depth < 10 ? invokeTask(session, 'count', true) : undefined), at(7))
  await invokeTask(session, 'count')
  assert.equal(depth, 10)
})
