import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Registry } from '../../lib/registry.ts'
import { checkHookTargets } from '../../lib/runner/hook-check.ts'
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
