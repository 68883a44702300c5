import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseCommandLine } from '../../lib/cli/args.ts'
import { UsageError } from '../../lib/errors.ts'

function filtersOf(argv: string[], env: Record<string, string> = {}): { roles: string[]; hosts: string[] } {
  const request = parseCommandLine(argv, env)
  assert.equal(request.kind, 'run')
  return { roles: request.kind === 'run' ? request.roles : [], hosts: request.kind === 'run' ? request.hosts : [] }
}

test('filters come from options, key=value words and the environment, in that order', () => {
  assert.deepEqual(filtersOf(['deploy', 'HOSTS=h1,h2', 'ROLES=web']), { roles: ['web'], hosts: ['h1', 'h2'] })
  assert.deepEqual(filtersOf(['deploy', '--hosts', 'h3'], { HOSTS: 'h2' }), { roles: [], hosts: ['h3'] })
  assert.deepEqual(filtersOf(['deploy', 'HOSTS=h1'], { HOSTS: 'h2' }), { roles: [], hosts: ['h1'] })
  assert.deepEqual(filtersOf(['deploy', '--roles', 'web', 'ROLES=web']), { roles: ['web'], hosts: [] })
  assert.deepEqual(filtersOf(['deploy'], { HOSTS: 'h2', ROLES: 'db' }), { roles: ['db'], hosts: ['h2'] })
  assert.deepEqual(filtersOf(['deploy', 'HOSTS=h1,,h2,']), { roles: [], hosts: ['h1', 'h2'] })
  assert.deepEqual(filtersOf(['deploy']), { roles: [], hosts: [] })
})

test('an option and a key=value word giving different filters are refused, not one silently dropped', () => {
  assert.throws(() => parseCommandLine(['deploy', 'ROLES=web', '--roles', 'app']), {
    name: 'UsageError',
    message: '--roles "app" and ROLES=web disagree; give the filter once.',
  })
})

test('an empty filter is refused instead of targeting every host', () => {
  const cases: [string[], Record<string, string>, string][] = [
    [['deploy', 'HOSTS='], {}, 'HOSTS= is empty: name at least one host, or leave HOSTS out.'],
    [['deploy', 'HOSTS=,'], {}, 'HOSTS="," is empty: name at least one host, or leave HOSTS out.'],
    [['deploy', 'HOSTS= , '], {}, 'HOSTS=" , " is empty: name at least one host, or leave HOSTS out.'],
    [['deploy', 'ROLES='], {}, 'ROLES= is empty: name at least one role, or leave ROLES out.'],
    [['deploy', '--hosts', ''], {}, '--hosts "" is empty: name at least one host, or leave --hosts out.'],
    [['deploy', '--roles='], {}, '--roles "" is empty: name at least one role, or leave --roles out.'],
    [['deploy', '-r', ','], {}, '--roles "," is empty: name at least one role, or leave --roles out.'],
    [['deploy'], { HOSTS: '' }, 'HOSTS= in the environment is empty: name at least one host, or unset HOSTS.'],
  ]
  for (const [argv, env, message] of cases) {
    assert.throws(() => parseCommandLine(argv, env), (error: unknown) => error instanceof UsageError && error.message === message, argv.join(' '))
  }
})

test('filter names spelt otherwise are refused, not taken as variables', () => {
  const cases: [string, string][] = [
    ['hosts=h1', '"hosts=h1" is not a filter; did you mean HOSTS=h1? Filters are written HOSTS= and ROLES=.'],
    ['Hosts=h1,h2', '"Hosts=h1,h2" is not a filter; did you mean HOSTS=h1,h2? Filters are written HOSTS= and ROLES=.'],
    ['HOST=h1', '"HOST=h1" is not a filter; did you mean HOSTS=h1? Filters are written HOSTS= and ROLES=.'],
    ['ROLE=web', '"ROLE=web" is not a filter; did you mean ROLES=web? Filters are written HOSTS= and ROLES=.'],
    ['roles=', '"roles=" is not a filter; did you mean ROLES=? Filters are written HOSTS= and ROLES=.'],
  ]
  for (const [word, message] of cases) {
    assert.throws(() => parseCommandLine(['deploy', word]), (error: unknown) => error instanceof UsageError && error.message === message, word)
  }
  const request = parseCommandLine(['deploy', 'hostname=a', 'role_name=b', 'tag=Deploy1', 'host=db1', 'role=primary'])
  assert.deepEqual(request.kind === 'run' && request.variables, { hostname: 'a', role_name: 'b', tag: 'Deploy1', host: 'db1', role: 'primary' })
})

test('the run\'s settings spelt otherwise are refused, not taken as variables that do nothing', () => {
  for (const [word, message] of [
    ['MAX_FAIL=1', '"MAX_FAIL=1" is not a setting; did you mean max_fail=1?'],
    ['maxfail=10%', '"maxfail=10%" is not a setting; did you mean max_fail=10%?'],
    ['SSH_CONNECT_TIMEOUT=3', '"SSH_CONNECT_TIMEOUT=3" is not a setting; did you mean ssh_connect_timeout=3?'],
  ]) {
    assert.throws(() => parseCommandLine(['deploy', word ?? '']), (error: unknown) => error instanceof UsageError && error.message === message, word)
  }
  const request = parseCommandLine(['deploy', 'max_fail=1', 'max_failures=2'])
  assert.deepEqual(request.kind === 'run' && request.variables, { max_fail: '1', max_failures: '2' })
})

test("Capistrano's ROLLBACK_RELEASE= is rollback_release, and --waves is waves; each given twice must agree", () => {
  const variablesOf = (argv: string[], env: Record<string, string> = {}) => {
    const request = parseCommandLine(argv, env)
    return request.kind === 'run' ? request.variables : {}
  }
  assert.deepEqual(variablesOf(['deploy:rollback', 'ROLLBACK_RELEASE=20261203085848']), { rollback_release: '20261203085848' })
  assert.deepEqual(variablesOf(['deploy:rollback', 'ROLLBACK_RELEASE=20261203085848', 'rollback_release=20261203085848']), { rollback_release: '20261203085848' })
  assert.deepEqual(variablesOf(['deploy:rollback'], { ROLLBACK_RELEASE: '20261203085848' }), { rollback_release: '20261203085848' })
  assert.deepEqual(variablesOf(['deploy:rollback', 'ROLLBACK_RELEASE=20261203085849'], { ROLLBACK_RELEASE: '20261203085848' }), { rollback_release: '20261203085849' })
  assert.deepEqual(variablesOf(['deploy', '--waves', '1,100%', 'waves=1,100%']), { waves: '1,100%' })
  assert.throws(() => parseCommandLine(['deploy:rollback', 'rollback_release=20261203085848', 'ROLLBACK_RELEASE=20261203085849']), {
    name: 'UsageError',
    message: 'ROLLBACK_RELEASE=20261203085849 and rollback_release=20261203085848 disagree; give rollback_release once.',
  })
  assert.throws(() => parseCommandLine(['deploy', 'waves=1,2', '--waves', '3']), {
    name: 'UsageError',
    message: '--waves "3" and waves=1,2 disagree; give waves once.',
  })
})

test('every key=value word is also given for the environment as written (Rake puts them in ENV), filters and ROLLBACK_RELEASE included', () => {
  const request = parseCommandLine(['deploy', 'BRANCH=v2', 'ROLES=web', 'ROLLBACK_RELEASE=20240101000000', 'tag=a=b'])
  assert.equal(request.kind, 'run')
  if (request.kind !== 'run') return
  assert.deepEqual(request.environment, { BRANCH: 'v2', ROLES: 'web', ROLLBACK_RELEASE: '20240101000000', tag: 'a=b' })
  assert.deepEqual(request.variables, { BRANCH: 'v2', rollback_release: '20240101000000', tag: 'a=b' })
  const listing = parseCommandLine(['-T', 'BRANCH=v2'])
  assert.deepEqual(listing.kind === 'list' ? listing.environment : undefined, { BRANCH: 'v2' })
})

test("cap's options murder does not take say what does their work here", () => {
  assert.throws(() => parseCommandLine(['-p']), { name: 'UsageError', message: "Unknown option '-p': cap's --print-config-variables is `deploy STAGE doctor:variables` here (each variable, its value and where it was set)." })
  assert.throws(() => parseCommandLine(['deploy', '--trace']), { name: 'UsageError', message: /^Unknown option '--trace': use -v \(--verbose\)/ })
  assert.throws(() => parseCommandLine(['-Q']), { name: 'UsageError', message: "Unknown option '-Q'. Run `deploy --help` for usage." })
})
