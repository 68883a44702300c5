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
