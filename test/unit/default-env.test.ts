import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readDefaultEnv } from '../../lib/ssh/default-env.ts'
import { quoteExpandingVariables as expandingWord } from '../../lib/ssh/quote.ts'
import { buildCommand } from '../../lib/ssh/command.ts'

/** What sh makes of `printf %s WORD` with HOME=/home/x and PATH=/bin. */
function shellSees(word: string): string {
  return execFileSync('/bin/sh', ['-c', `printf %s ${word}`], { encoding: 'utf8', env: { HOME: '/home/x', PATH: '/bin:/usr/bin' } })
}

test('a default_env value expands $NAME and ${NAME} on the host, as SSHKit\'s double quotes would, and nothing else', () => {
  assert.equal(shellSees(expandingWord('/opt/node/bin:$PATH')), '/opt/node/bin:/bin:/usr/bin')
  assert.equal(shellSees(expandingWord('${HOME}/.local/bin')), '/home/x/.local/bin')
  // Command substitution, backquotes, globs, quotes, a lone $ and positional or special parameters stay as written.
  for (const literal of ['$(touch /tmp/pwned)', '`id`', "it's *", '$', 'a"b', '$1 and $$', '']) {
    assert.equal(shellSees(expandingWord(literal)), literal, literal)
  }
  assert.equal(shellSees(expandingWord("$HOME's `id` $(id)")), "/home/x's `id` $(id)")
  // As in double quotes, \$ is a literal $.
  assert.equal(shellSees(expandingWord('\\$HOME is $HOME')), '$HOME is /home/x')
})

test('default_env: names upper-cased as SSHKit does, numbers as written; a bad value or name is a usage error with an example', () => {
  assert.deepEqual(readDefaultEnv({ node_env: 'production', PORT: 8080 }), { NODE_ENV: 'production', PORT: '8080' })
  assert.deepEqual(readDefaultEnv(undefined), {})
  assert.throws(() => readDefaultEnv('NODE_ENV=production'), /^UsageError: default_env must be an object of environment variables, got string "NODE_ENV=production": set\('default_env'/)
  assert.throws(() => readDefaultEnv({ 'NODE-ENV': 'x' }), /default_env: invalid environment variable name "NODE-ENV"/)
  assert.throws(() => readDefaultEnv({ A: { b: 1 } }), /default_env: A is/)
  assert.throws(() => readDefaultEnv({ path: '/a', PATH: '/b' }), /default_env: path and PATH are both PATH \(names are upper-cased, as SSHKit does\); keep one\./)
})

test("default_env's exports come before withEnv's, which win, inside as()'s sudo", () => {
  const defaultEnv = readDefaultEnv({ path: '/opt/bin:$PATH', node_env: 'production' })
  assert.equal(
    buildCommand(['npm', 'ci'], { defaultEnv, env: { NODE_ENV: 'test' }, user: 'app', cwd: '/srv/app' }),
    `cd /srv/app && sudo -n -u app -- sh -c 'export PATH=/opt/bin:"\${PATH}" ; export NODE_ENV=production ; export NODE_ENV=test ; npm ci'`
  )
})
