import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isSecretName, MASK, redact, secretEnvironmentValues } from '../../lib/report/redact.ts'
import { Variables } from '../../lib/config/variables.ts'

test('names like passwords, tokens and keys are secret; ordinary names are not', () => {
  for (const name of ['password', 'db_password', 'DB_PASS', 'api_token', 'github_token', 'secret', 'aws_secret_access_key', 'api_key', 'apikey', 'private_key']) {
    assert.ok(isSecretName(name), name)
  }
  // camelCase, as a TypeScript deployfile names them, and acronyms within.
  for (const name of ['dbPassword', 'githubToken', 'apiKey', 'APIKey', 'myAPIToken', 'sshPassphrase', 'ssh_passphrase', 'awsSecretAccessKey', 'DEPLOY_TOKEN']) {
    assert.ok(isSecretName(name), name)
  }
  for (const name of ['tag', 'deploy_to', 'keep_releases', 'passenger_root', 'tokenizer', 'keyboard', 'bypassCache', 'compassPoint', 'tokenizerPath', 'keepReleases']) {
    assert.ok(!isSecretName(name), name)
  }
})

test('a secret is masked as given and as shell-quoted; short values are left alone', () => {
  assert.equal(redact('echo hunter2 >> x', ['hunter2']), `echo ${MASK} >> x`)
  assert.equal(redact("mysql -p'it'\\''s a pass' db", ["it's a pass"]), `mysql -p${MASK} db`)
  assert.equal(redact('exit 1', ['1']), 'exit 1')
  // As default_env exports it, its $word expanding on the host.
  assert.equal(redact(`( export DB_PASSWORD=p@ss"\${word1}" ; true )`, ['p@ss$word1']), `( export DB_PASSWORD=${MASK} ; true )`)
})

test('secret values come from command-line overrides and evaluated sets, never by evaluating a lazy value', () => {
  const variables = new Variables()
  let evaluated = false
  variables.set('db_password', 'from-set', 'test')
  variables.set('api_token', () => ((evaluated = true), 'lazy-token'), 'test')
  variables.override('deploy_token', 'from-cli')
  variables.set('tag', 'public', 'test')
  assert.deepEqual(variables.valuesOf(isSecretName).sort(), ['from-cli', 'from-set'])
  assert.equal(evaluated, false)
  variables.fetch('api_token')
  assert.deepEqual(variables.valuesOf(isSecretName).sort(), ['from-cli', 'from-set', 'lazy-token'])
})

test('environment variables named like secrets are masked too; others are not', () => {
  const env = {
    GITHUB_TOKEN: 'ghp_abc123', CI_JOB_TOKEN: 'job-tok-9', HOME: '/root', PATH: '/usr/bin', EMPTY_SECRET: undefined, SKIP_TOKEN_CHECK: 'true',
    // Where a secret is, or the working directory: not secrets, and masking them hides every path.
    PWD: '/home/runner/work/app', OLDPWD: '/home/runner', PASSWORD_STORE_DIR: '/root/.password-store', POSTGRES_PASSWORD_FILE: '/run/secrets/pg', ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.example',
  }
  assert.deepEqual(secretEnvironmentValues(env).sort(), ['ghp_abc123', 'job-tok-9'], 'a short value there is a flag, not a secret')
})

test('a secret is masked inside a larger quoted word, nested in sh -c, in $\'…\' quoting and in JSON', () => {
  const secret = 'ab\'cd"ef\\gh'
  const masked = (text: string) => redact(text, [secret])
  assert.equal(masked("mysql '--password=ab'\\''cd\"ef\\gh'"), `mysql '--password=${MASK}'`)
  assert.equal(masked("sudo -n -u app -- sh -c 'echo '\\''ab'\\''\\'\\'''\\''cd\"ef\\gh'\\'''"), `sudo -n -u app -- sh -c 'echo '\\''${MASK}'\\'''`)
  assert.equal(masked("local $ echo $'ab\\'cd\"ef\\\\gh'"), `local $ echo $'${MASK}'`)
  assert.equal(masked(`json: ${JSON.stringify({ pw: secret })}`), `json: {"pw":"${MASK}"}`)
})

test('objects: every string of a secret-named variable, secret-named keys anywhere, and URL passwords', () => {
  const variables = new Variables()
  variables.set('credentials', { user: 'svc-account', key: 'k3y-material', nested: ['list-item-1'] }, 'test')
  variables.set('database', { host: 'db1', password: 'db-pass-77', port: 5432 }, 'test')
  variables.set('cache_url', 'redis://cache:url-pass-9@cache1:6379/0', 'test')
  variables.set('tag', 'public', 'test')
  assert.deepEqual(variables.valuesOf(isSecretName).sort(), ['db-pass-77', 'k3y-material', 'list-item-1', 'svc-account', 'url-pass-9'])
  assert.deepEqual(secretEnvironmentValues({ DATABASE_URL: 'postgres://app:UrlSecretPw55@db/x', HOME: '/root', http_proxy: 'http://u:pass@proxy:3128' }), ['UrlSecretPw55'], 'a short proxy password would mask every "pass"')
  const inside = new Variables()
  inside.set('migrate_args', '--db=postgres://app:InsidePw42@db1/shop --verbose', 'test')
  assert.deepEqual(inside.valuesOf(isSecretName), ['InsidePw42'])
})
