import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { errorLine, makeProject, runCli, REPO_ROOT } from '../helpers/cli.ts'
import { ensureFarm, onHost, peekOnHost, readOnHost } from '../helpers/farm.ts'

let hosts: string[] = []
let project = ''
const farm = (...args: string[]) => execFileSync('bash', [join(REPO_ROOT, 'test/farm/farm.sh'), ...args], { stdio: 'pipe' })
const webHosts = () => hosts.slice(0, Math.floor(hosts.length / 2))
/** The farm's sshd serves each SFTP session in a process of its own (internal-sftp), titled so. */
const SFTP_SESSION = '^sshd: [^ ]+@internal-sftp'

before(() => {
  hosts = ensureFarm(6)
  project = makeProject('runner', 'runner.ts')
  for (const host of hosts) onHost(host, 'rm -f /tmp/probe-mark /tmp/limit-* /tmp/scopes.json /tmp/dry-* /tmp/counter /tmp/roundtrip.bin')
})

function marked(): string[] {
  return hosts.filter((host) => onHost(host, 'test -f /tmp/probe-mark').code === 0)
}

test('a task runs on every host of its role and only those', async () => {
  const result = await runCli(['farm', 'probe:mark'], { cwd: project })
  assert.equal(result.code, 0, result.stderr)
  assert.deepEqual(marked(), webHosts())
  for (const host of webHosts()) assert.equal(readOnHost(host, 'cat /tmp/probe-mark').trim(), host)
  assert.match(result.stderr, /✔ probe:mark \d/)
  assert.match(result.stderr, new RegExp(`host\\(s\\) succeeded: ${webHosts().join(', ')}`))
})

test('ROLES= and HOSTS= narrow a run', async () => {
  for (const host of hosts) onHost(host, 'rm -f /tmp/probe-mark')
  const [first, second] = webHosts()
  const byHost = await runCli(['farm', 'probe:mark', `HOSTS=${first}`], { cwd: project })
  assert.equal(byHost.code, 0, byHost.stderr)
  assert.deepEqual(marked(), [first])
  const byRole = await runCli(['farm', 'probe:mark', 'ROLES=db'], { cwd: project })
  assert.equal(byRole.code, 0, byRole.stderr)
  // The last host is db, not web: a task limited to web has nothing to do there.
  assert.deepEqual(marked(), [first])
  assert.match(byRole.stderr, /^- probe:mark skipped: no hosts with role web after ROLES=\/HOSTS=$/m)
  // A role no server has is usually a typo: the skip says so, without --verbose.
  const typo = await runCli(['farm', 'probe:typo'], { cwd: project })
  assert.equal(typo.code, 0, typo.stderr)
  assert.match(typo.stderr, /^- probe:typo skipped: no server has role wbe \(roles: [a-z, ]*web[a-z, ]*\)$/m)
  // One unknown role beside known ones: the task runs, and the typo is said.
  const halfTypo = await runCli(['farm', 'probe:half_typo'], { cwd: project })
  assert.equal(halfTypo.code, 0, halfTypo.stderr)
  assert.match(halfTypo.stderr, /^probe:half_typo: no server has role wbe \(roles: [a-z, ]*db[a-z, ]*\); it runs on the other roles' hosts$/m)
  assert.match(halfTypo.stderr, /half_typo runs on h\d\d/)
  const byOption = await runCli(['farm', 'probe:mark', '--hosts', `${second}`], { cwd: project })
  assert.equal(byOption.code, 0, byOption.stderr)
  assert.deepEqual(marked(), [first, second])
})

test('on() leaves out the servers it is given that ROLES= and HOSTS= leave out, as Capistrano does', async () => {
  for (const host of hosts) onHost(host, 'rm -f /tmp/probe-mark')
  const [first, second] = webHosts()
  const last = hosts.at(-1)
  const narrowed = await runCli(['farm', 'probe:mark_named', `targets=${first},${second},${last}`, `HOSTS=${second}`], { cwd: project })
  assert.equal(narrowed.code, 0, narrowed.stderr)
  assert.deepEqual(marked(), [second])
  assert.match(narrowed.stderr, new RegExp(`^on\\(\\): HOSTS=${second} leaves out ${first}, ${last}$`, 'm'))
  for (const host of hosts) onHost(host, 'rm -f /tmp/probe-mark')
  const byRole = await runCli(['farm', 'probe:mark_named', `targets=${first},${last}`, 'ROLES=db'], { cwd: project })
  assert.equal(byRole.code, 0, byRole.stderr)
  assert.deepEqual(marked(), [last])
  assert.match(byRole.stderr, new RegExp(`^on\\(\\): ROLES=db leaves out ${first}$`, 'm'))
})

test('limit: 2 is never exceeded, proven from timestamps written on the hosts', async () => {
  const result = await runCli(['farm', 'probe:limit'], { cwd: project })
  assert.equal(result.code, 0, result.stderr)
  const spans = hosts.map((host) => ({
    start: BigInt(readOnHost(host, 'cat /tmp/limit-start').trim()),
    end: BigInt(readOnHost(host, 'cat /tmp/limit-end').trim()),
  }))
  let maxOverlap = 0
  for (const span of spans) {
    const overlapping = spans.filter((other) => other.start <= span.start && span.start < other.end).length
    maxOverlap = Math.max(maxOverlap, overlapping)
  }
  assert.equal(maxOverlap, 2, `at most 2 at once, and the limit was used: ${maxOverlap}`)
})

test('within, withEnv, as, sudo, capture, test and stdin behave as documented', async () => {
  for (const host of hosts) onHost(host, 'mkdir -p /srv/sub ~/tsub && rm -f ~/tsub/up.txt')
  const result = await runCli(['farm', 'probe:scopes'], { cwd: project })
  assert.equal(result.code, 0, result.stderr)
  const scopes = JSON.parse(readOnHost(hosts[0] ?? '', 'cat /tmp/scopes.json')) as Record<string, unknown>
  const home = String(scopes['home'])
  assert.match(home, /^\/.+/)
  assert.deepEqual(scopes, {
    home,
    tildeWithin: `${home}/tsub`,
    tildeUpload: 'up',
    numbers: '5-2.5',
    envNumber: '4',
    asObject: 'nobody',
    byName: ['ok'],
    within: '/srv',
    nested: '/srv/sub',
    env: "it's a $test",
    as: 'nobody',
    sudo: 'root',
    captured: 'padded',
    testTrue: true,
    testFalse: false,
    stdin: 'PIPED IN',
    noStdin: '',
    missingWithin: `${hosts[0]}: within: Directory does not exist '/nonexistent'`,
  })
})

test('transfer_concurrency bounds the SFTP transfers under way at once across all hosts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'murder-slots-'))
  const file = join(dir, 'in.bin')
  const bytes = randomBytes(3 * 1024 * 1024)
  writeFileSync(file, bytes)
  // Every farm host's processes are this machine's: its SFTP sessions can be counted from here.
  const sftpServersNow = () => {
    try {
      return Number(execFileSync('pgrep', ['-c', '-f', SFTP_SESSION], { encoding: 'utf8' }).trim())
    } catch {
      return 0
    }
  }
  const mostAtOnce = async (...words: string[]) => {
    let most = 0
    let isRunning = true
    const run = runCli(['farm', 'slow:transfer', 'from=none', `file=${file}`, ...words], { cwd: project }).finally(() => (isRunning = false))
    while (isRunning) {
      most = Math.max(most, sftpServersNow())
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const result = await run
    assert.equal(result.code, 0, result.stderr)
    return most
  }
  // 3 MiB at 8 Mbit/s: 3 s an upload.
  for (const host of hosts) farm('rate', host, '8mbit', 'down')
  try {
    const bounded = await mostAtOnce('transfer_concurrency=2')
    assert.ok(bounded >= 1 && bounded <= 2, `with transfer_concurrency=2, ${bounded} SFTP servers ran at once`)
    // The count sees more than 2 when nothing bounds them, so the bound above is the setting's.
    const free = await mostAtOnce(`transfer_concurrency=${hosts.length}`)
    assert.ok(free > 2, `with transfer_concurrency=${hosts.length}, ${free} SFTP servers ran at once`)
  } finally {
    for (const host of hosts) farm('rate', host, '1gbit')
  }
  const digest = createHash('sha256').update(bytes).digest('hex')
  for (const host of hosts) assert.equal(readOnHost(host, 'sha256sum < /tmp/transfer.bin').split(' ')[0], digest, `${host} holds the whole file`)
  for (const host of hosts) onHost(host, 'rm -f /tmp/transfer.bin')
  const refused = await runCli(['farm', 'slow:transfer', 'from=none', `file=${file}`, 'transfer_concurrency=0'], { cwd: project })
  assert.equal(refused.code, 2, refused.stderr)
  assert.match(errorLine(refused), /^error: transfer_concurrency must be a whole number 1 to 100000 \(SFTP transfers at once\), got "0"/)
})

test('upload then download round-trips a binary file of several MiB exactly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'murder-rt-'))
  const file = join(dir, 'in.bin')
  const bytes = randomBytes(5 * 1024 * 1024 + 123)
  writeFileSync(file, bytes)
  chmodSync(file, 0o750)
  const out = join(dir, 'out.bin')
  const db = hosts.at(-1) ?? ''
  onHost(db, 'rm -rf /tmp/rt-new /tmp/roundtrip.bin && echo old > /tmp/rt-keep.bin && chmod 640 /tmp/rt-keep.bin')
  const result = await runCli(['farm', 'probe:roundtrip', `file=${file}`, `out=${out}`], { cwd: project })
  assert.equal(result.code, 0, result.stderr)
  const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex')
  assert.equal(digest(readFileSync(out)), digest(bytes))
  assert.equal(readOnHost(db, 'sha256sum < /tmp/rt-new/file/roundtrip.bin').split(' ')[0], digest(bytes))
  assert.equal(readOnHost(db, 'stat -c %a /tmp/roundtrip.bin /tmp/rt-new/into/in.bin /tmp/rt-keep.bin'), '750\n750\n640\n', 'a new file gets the local mode, as with Fabric\'s put; a replaced one keeps its own')
  assert.equal(readOnHost(db, 'sha256sum < /tmp/rt-keep.bin').split(' ')[0], digest(bytes))
  assert.equal(readOnHost(db, 'cat /tmp/rt-new/buffer/sub/note.txt'), `from ${db}\n`)
  assert.equal(readOnHost(db, 'sha256sum < /tmp/rt-new/into/in.bin').split(' ')[0], digest(bytes))
  assert.deepEqual(JSON.parse(readFileSync(`${out}.failures.json`, 'utf8')), [
    `${db}: download of /tmp/rt-new failed: /tmp/rt-new is a directory on the host; download takes one file (pack a directory with tar first)`,
    `${db}: upload to /tmp/rt-new/file failed: /tmp/rt-new/file is a directory on the host; name the file in it, or end the path with / to upload under the local name`,
  ])
  assert.equal(digest(readFileSync(out)), digest(bytes), 'the failed download left the local file as it was')
  assert.equal(readFileSync(`${out}.mode`, 'utf8'), '600', 'a download over a file keeps its permissions')
  assert.deepEqual(readdirSync(dir).sort(), ['in.bin', 'out.bin', 'out.bin.failures.json', 'out.bin.many', 'out.bin.mode'], 'no partial file left beside it')
  assert.deepEqual(readdirSync(join(dir, 'out.bin.many')), ['roundtrip.bin'], '12 downloads to one path left one file')
  assert.equal(digest(readFileSync(join(dir, 'out.bin.many/roundtrip.bin'))), digest(bytes))
  assert.doesNotMatch(result.stderr, /MaxListenersExceededWarning/)
})

test('a command failing on one host exits 1 and the summary names the host and the command', async () => {
  const victim = hosts[2] ?? ''
  const result = await runCli(['farm', 'probe:fail', `fail_on=${victim}`], { cwd: project })
  assert.equal(result.code, 1)
  assert.match(result.stderr, /✖ 1 host\(s\) failed:/)
  assert.ok(
    result.stderr.includes(`    ${victim}: \`sh -c 'test "$1" != "$2"' sh ${victim} ${victim}\` exited 1`),
    result.stderr
  )
})

test("onError: 'continue' carries on without the failed host, says so on the task's line, and exits 1", async () => {
  for (const host of hosts) onHost(host, 'rm -f /tmp/probe-mark')
  const victim = hosts[1] ?? ''
  const result = await runCli(['farm', 'probe:carry', `fail_on=${victim}`], { cwd: project })
  assert.equal(result.code, 1, result.stderr)
  assert.deepEqual(marked(), hosts.filter((host) => host !== victim), 'the second block ran on every host but the failed one')
  assert.match(result.stderr, new RegExp(`^! probe:carry \\S+ carried on without ${victim}$`, 'm'))
  assert.doesNotMatch(result.stderr, /✔ probe:carry/)
  // stdout and stderr lines differ without colour: `|` and `!`.
  assert.match(result.stdout + result.stderr, new RegExp(`^  ${victim} \\| to stdout$`, 'm'))
  assert.match(result.stdout + result.stderr, new RegExp(`^  ${victim} ! to stderr$`, 'm'))
  assert.match(result.stderr, new RegExp(`^    ${victim}: .* exited 1`, 'm'))
})

test('multi-byte characters split across SSH packets come back whole, on exec channels and in the command shell', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'murder-utf8-')), 'utf8')
  for (const shell of ['ssh_persistent_shell=false', 'ssh_persistent_shell=true']) {
    const result = await runCli(['farm', 'probe:utf8', `out=${out}`, shell], { cwd: project })
    assert.equal(result.code, 0, result.stderr)
    for (const host of hosts) assert.equal(readFileSync(`${out}.${host}`, 'utf8'), 'whole', `${host}, ${shell}`)
  }
})

test("upload's mode is set on a new file and on one it replaces", async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'murder-mode-')), 'secret')
  const result = await runCli(['farm', 'probe:secret', `out=${out}`], { cwd: project })
  assert.equal(result.code, 0, result.stderr)
  for (const host of hosts) {
    assert.equal(readOnHost(host, 'stat -c "%a %s" /tmp/secret-a /tmp/secret-b'), '600 7\n600 12\n', host)
    assert.equal(readOnHost(host, 'cat /tmp/secret-a'), 's3cret\n', host)
  }
})

test('a task invoked twice runs once', async () => {
  const result = await runCli(['farm', 'probe:twice'], { cwd: project })
  assert.equal(result.code, 0, result.stderr)
  assert.equal(readOnHost(hosts.at(-1) ?? '', 'cat /tmp/counter'), 'x\n')
})

test('--dry-run prints every host command and changes nothing', async () => {
  const result = await runCli(['farm', 'probe:touch', '--dry-run'], { cwd: project })
  assert.equal(result.code, 0, result.stderr)
  for (const host of hosts) {
    assert.ok(result.stderr.includes(`  ${host} $ touch /tmp/dry-marker`), result.stderr)
    assert.ok(result.stderr.includes(`  ${host} $ download /etc/hostname → /tmp/dry-${host}/hostname`), `{host} in a download's local path: ${result.stderr}`)
    assert.equal(onHost(host, 'test -e /tmp/dry-marker || test -e /tmp/dry-upload').code, 1, `${host} was changed`)
  }
})

test('-T lists built-in and user tasks with descriptions', async () => {
  const result = await runCli(['-T'], { cwd: project })
  assert.equal(result.code, 0, result.stderr)
  assert.match(result.stdout, /^deploy probe:mark +# Leave \/tmp\/probe-mark on every web host$/m)
  assert.match(result.stdout, /^deploy murder:peer +# /m)
  assert.match(result.stdout, /^deploy deploy +# Deploy a new release/m)
  const filtered = await runCli(['-T', 'murder:stop'], { cwd: project })
  assert.deepEqual(
    filtered.stdout.trim().split('\n').map((line) => line.split(/\s+/)[1]),
    ['murder:stop_all_peering', 'murder:stop_all_seeding', 'murder:stop_peering', 'murder:stop_seeding', 'murder:stop_tracker']
  )
})

test('bad input: one-line errors and exit 2 before anything runs', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'murder-empty-'))
  const cases: { args: string[]; cwd?: string; expected: string | RegExp }[] = [
    { args: ['probe:mark'], cwd: empty, expected: `error: No deployfile.ts found in ${empty} or its parents; create one (\`npx deploy install\` writes one to start from) or pass -f PATH.` },
    {
      args: ['-f', join(REPO_ROOT, 'test/fixtures/deployfiles/bad-syntax.ts'), 'broken'],
      expected: /^error: .*test\/fixtures\/deployfiles\/bad-syntax\.ts:4:\d+: syntax error: /,
    },
    {
      args: ['-f', join(REPO_ROOT, 'test/fixtures/deployfiles/bad-import.ts'), 'broken'],
      expected: /^error: .*test\/fixtures\/deployfiles\/bad-import\.ts:2: bad import: murder has no export named "runn"; check its spelling$/,
    },
    {
      args: ['-f', join(REPO_ROOT, 'test/fixtures/deployfiles/throws.ts'), 'x'],
      expected: /^error: .*test\/fixtures\/deployfiles\/throws\.ts:4: threw while loading: deployfile exploded on purpose$/,
    },
    { args: ['farm', 'probe:mrk'], expected: 'error: Unknown task "probe:mrk". Did you mean "probe:mark"? Run `deploy -T` to list tasks.' },
    { args: ['farm', 'probe:mark', 'ROLES=webb'], expected: 'error: Unknown role "webb" in ROLES filter. Known roles: app, db, web.' },
    { args: ['farm', 'probe:mark', 'HOSTS=h999'], expected: /^error: Unknown host "h999" in HOSTS filter\. Known hosts: h01, / },
    { args: ['farm', 'probe:mark', '=oops'], expected: 'error: Empty variable name in "=oops"; write key=value.' },
    { args: ['farm', 'probe:mark', '--bogus'], expected: /^error: Unknown option '--bogus'\. Run `deploy --help` for usage\.$/ },
  ]
  for (const { args, cwd, expected } of cases) {
    const result = await runCli(args, { cwd: cwd ?? project })
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
    const line = errorLine(result)
    if (typeof expected === 'string') assert.equal(line, expected)
    else assert.match(line, expected)
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${result.stderr}`)
  }
})

test('a malformed stage file is named with its line', async () => {
  const dir = makeProject('bad-stage', 'runner.ts', { 'roles/broken.yaml': 'servers:\n  - host: h01\n    roles: [web\n' })
  const result = await runCli(['broken', 'probe:mark'], { cwd: dir })
  assert.equal(result.code, 2)
  assert.match(errorLine(result), /^error: roles\/broken\.yaml:\d+: invalid YAML: /)
})

test('bad filters, stages, stage values, hooks and -T patterns: one line, nothing run', async () => {
  const dir = makeProject('bad-inputs', 'runner.ts', {
    'roles/badhost.yaml': 'servers:\n  - host: "web1:abc"\n',
    'roles/badroles.yaml': 'servers:\n  - host: h01\n    roles: web, app\n',
    'roles/nossh.yaml': 'ssh_config: missing/ssh_config\nservers: [h01]\n',
  })
  for (const host of hosts) onHost(host, 'rm -f /tmp/probe-mark')
  // `startsTasks`: the error comes from a running task; every other case fails before any task starts.
  const cases: { args: string[]; code: number; expected: string | RegExp; startsTasks?: true }[] = [
    { args: ['farm', 'probe:mark', 'HOSTS='], code: 2, expected: 'error: HOSTS= is empty: name at least one host, or leave HOSTS out.' },
    { args: ['farm', 'probe:mark', '--roles', ''], code: 2, expected: 'error: --roles "" is empty: name at least one role, or leave --roles out.' },
    { args: ['farm', 'probe:mark', 'ROLES=db', 'HOSTS=h01'], code: 2, expected: 'error: ROLES=db and HOSTS=h01 together match no server; loosen one of them.' },
    { args: ['farm', 'probe:mark', 'hosts=h01'], code: 2, expected: 'error: "hosts=h01" is not a filter; did you mean HOSTS=h01? Filters are written HOSTS= and ROLES=.' },
    { args: ['staging', 'probe:mark'], code: 2, expected: /^error: No stage "staging" \(roles\/staging\.yaml does not exist\); stages: badhost, badroles, farm, nossh\.$/ },
    { args: ['badhost', 'probe:mark'], code: 2, expected: 'error: roles/badhost.yaml:2: invalid host "web1:abc": write it as host, user@host or user@host:port' },
    { args: ['badroles', 'probe:mark'], code: 2, expected: 'error: roles/badroles.yaml:3: roles of h01 is the one string "web, app"; write a list: roles: [web, app]' },
    { args: ['nossh', 'probe:mark', '--dry-run'], code: 2, expected: /^error: roles\/nossh\.yaml:1: ssh_config missing\/ssh_config does not exist \(.*\); fix the path or remove ssh_config$/ },
    { args: ['-T', 'nomatch'], code: 1, expected: 'error: No task matches "nomatch". Run `deploy -T` to list tasks.' },
    { args: ['-f', join(REPO_ROOT, 'test/fixtures/deployfiles/bad-hook.ts'), 'bad_hook:noop'], code: 2, expected: /^error: .*bad-hook\.ts:4: after\("deploy:publishd", "bad_hook:noop"\): no task "deploy:publishd"; did you mean "deploy:published"/ },
    { args: ['-f', join(REPO_ROOT, 'test/fixtures/deployfiles/bad-hook.ts'), '-T'], code: 2, expected: /^error: .*bad-hook\.ts:4: after\("deploy:publishd", "bad_hook:noop"\): no task "deploy:publishd"; did you mean "deploy:published"/ },
    { args: ['-f', join(REPO_ROOT, 'test/fixtures/deployfiles/circular-hooks.ts'), 'cycle:a'], code: 2, expected: /^error: Circular hooks: cycle:a -> cycle:b -> cycle:a \(each must run before the next\): / },
    // Found before cycle:outer starts, though only its body reaches cycle:a.
    { args: ['-f', join(REPO_ROOT, 'test/fixtures/deployfiles/circular-hooks.ts'), 'cycle:outer'], code: 2, expected: /^error: Circular hooks: cycle:a -> cycle:b -> cycle:a \(each must run before the next\): / },
    { args: ['-f', join(REPO_ROOT, 'test/fixtures/deployfiles/endless-invoke.ts'), 'loop:x'], code: 2, expected: /^error: Tasks invoke each other without end: loop:x -> loop:y -> loop:x -> loop:y -> … \(over 100 deep\), from loop:x \(.*endless-invoke\.ts:4\); /, startsTasks: true },
  ]
  for (const { args, code, expected, startsTasks } of cases) {
    const result = await runCli(args, { cwd: dir })
    assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`)
    const line = errorLine(result)
    if (typeof expected === 'string') assert.equal(line, expected)
    else assert.match(line, expected)
    assert.ok(!result.stderr.includes('    at '), `no stack trace for ${args.join(' ')}: ${result.stderr}`)
    if (!startsTasks) assert.ok(!result.stderr.includes('▶'), `no task started for ${args.join(' ')}: ${result.stderr}`)
  }
  assert.deepEqual(marked(), [], 'nothing ran on any host')
})

test('an unreachable host and a refused key fail with the host named, exit 1', async () => {
  const dir = makeProject('unreachable', 'runner.ts', {
    'roles/broken.yaml': [
      `ssh_config: ${join(REPO_ROOT, '.farm/ssh_config')}`,
      'servers:',
      `  - host: ${hosts[0]}:2`,
      '    roles: [web]',
      `  - host: nobody@${hosts[1]}`,
      '    roles: [web]',
      '',
    ].join('\n'),
  })
  const result = await runCli(['broken', 'probe:mark'], { cwd: dir })
  assert.equal(result.code, 1)
  assert.match(result.stderr, new RegExp(`^    ${hosts[0]}: connection refused at deploy@[0-9.]+:2; is sshd running there\\?$`, 'm'))
  assert.match(result.stderr, new RegExp(`^    ${hosts[1]}: authentication refused for nobody@[0-9.]+:22; check the user, IdentityFile and the host's authorized_keys$`, 'm'))
})

test('host keys: a new host is recorded in known_hosts, a changed key refused before anything runs, and StrictHostKeyChecking yes honoured', async () => {
  const first = webHosts()[0] ?? ''
  const dir = mkdtempSync(join(tmpdir(), 'murder-known-hosts-'))
  const knownHosts = join(dir, 'known_hosts')
  // The farm's own config checks no key: this stage's config is the farm's with checking on.
  const sshConfig = (checking: string) =>
    readFileSync(join(REPO_ROOT, '.farm/ssh_config'), 'utf8')
      .replace(/^ {2}StrictHostKeyChecking no$/gm, `  StrictHostKeyChecking ${checking}`)
      .replace(/^ {2}UserKnownHostsFile \/dev\/null$/gm, `  UserKnownHostsFile ${knownHosts}`)
  const stage = (name: string, checking: string) => {
    writeFileSync(join(dir, `${name}_ssh_config`), sshConfig(checking))
    writeFileSync(join(project, 'roles', `${name}.yaml`), readFileSync(join(project, 'roles/farm.yaml'), 'utf8').replace(/^ssh_config: .*$/m, `ssh_config: ${join(dir, `${name}_ssh_config`)}`))
  }
  stage('checked', 'accept-new')
  stage('strict', 'yes')
  try {
    for (const host of hosts) onHost(host, 'rm -f /tmp/probe-mark')
    const recorded = await runCli(['checked', 'probe:mark', `HOSTS=${first}`], { cwd: project })
    assert.equal(recorded.code, 0, recorded.stderr)
    assert.match(recorded.stderr, new RegExp(`^  ${first} added its host ssh-ed25519 key SHA256:\\S+ to ${knownHosts} \\(first connection; later ones must offer the same\\)$`, 'm'))
    const line = readFileSync(knownHosts, 'utf8')
    assert.match(line, /^10\.213\.\d+\.\d+ ssh-ed25519 \S+\n$/)
    const again = await runCli(['checked', 'probe:mark', `HOSTS=${first}`], { cwd: project })
    assert.equal(again.code, 0, again.stderr)
    assert.doesNotMatch(again.stderr, /added its host/)

    // Another key on record for the host: refused, and the task runs nowhere.
    onHost(first, 'rm -f /tmp/probe-mark')
    const [name = '', type = ''] = line.split(' ')
    writeFileSync(knownHosts, `${name} ${type} ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), randomBytes(32)]).toString('base64')}\n`)
    const changed = await runCli(['checked', 'probe:mark', `HOSTS=${first}`], { cwd: project })
    assert.equal(changed.code, 1, changed.stderr)
    assert.match(changed.stderr, new RegExp(`${first}: its host key has changed: it offers the ssh-ed25519 key SHA256:\\S+, while ${knownHosts}:1 records another for ${name.replace(/\./g, '\\.')}; someone may be intercepting`))
    assert.equal(onHost(first, 'test -e /tmp/probe-mark').code, 1, 'nothing ran on the host')

    rmSync(knownHosts)
    const strict = await runCli(['strict', 'probe:mark', `HOSTS=${first}`], { cwd: project })
    assert.equal(strict.code, 1, strict.stderr)
    assert.match(strict.stderr, new RegExp(`${first}: its host ssh-ed25519 key SHA256:\\S+ is in no known_hosts file and StrictHostKeyChecking is yes`))
    // The command it would have run is not shown as if it had: only what reached a host is.
    assert.doesNotMatch(strict.stderr, new RegExp(`^  ${first} \\$ `, 'm'))
    assert.equal(existsSync(knownHosts), false, 'yes records nothing')
  } finally {
    rmSync(dir, { recursive: true, force: true })
    for (const name of ['checked', 'strict']) rmSync(join(project, 'roles', `${name}.yaml`), { force: true })
  }
})

test('secrets given as variables (snake_case or camelCase) or in the environment never appear in the output, even with --verbose', async () => {
  const password = "s3cr3t pa$$ 'word"
  const token = 'tok-5f2c9a'
  const [registry, passphrase] = ['reg-tok-777', 'phrase-31337']
  const args = ['farm', 'secret:use', `db_password=${password}`, `api_token=${token}`, `sshPassphrase=${passphrase}`, '--verbose']
  const result = await runCli(args, { cwd: project, env: { REGISTRY_TOKEN: registry } })
  assert.equal(result.code, 0, result.stderr)
  const db = hosts.at(-1) ?? ''
  assert.equal(readOnHost(db, 'cat /tmp/secret-seen'), password, 'the command got the real value')
  const output = result.stdout + result.stderr
  for (const secret of [password, 'pa$$', token, registry, passphrase]) assert.ok(!output.includes(secret), `${secret} in:\n${output}`)
  assert.match(output, /connecting with \*{8}/)
  assert.match(output, /token=\*{8}/)
  assert.match(output, /registry=\*{8} passphrase=\*{8}/)
  // A mistyped name is refused without its value.
  const typo = await runCli(['farm', 'secret:use', `db-password=${password}`], { cwd: project })
  assert.equal(typo.code, 2)
  assert.equal(errorLine(typo), 'error: Invalid variable name "db-password" (in db-password=…); use letters, digits and "_".')
})

test('host and role names carrying shell metacharacters are refused before anything runs', async () => {
  for (const filter of ["HOSTS=h01;touch /tmp/pwned", 'ROLES=web$(touch /tmp/pwned)']) {
    const result = await runCli(['farm', 'probe:mark', filter], { cwd: project })
    assert.equal(result.code, 2, result.stderr)
    assert.match(errorLine(result), /^error: unknown (host|role)/i)
  }
  for (const host of hosts) assert.equal(onHost(host, 'test -e /tmp/pwned').code, 1)
})

test('a task that throws and an on block that rejects on one host each fail with a clear line naming where', async () => {
  const thrown = await runCli(['farm', 'oops:task'], { cwd: project })
  assert.equal(thrown.code, 1)
  // Where the task was defined, and the line that threw.
  assert.match(errorLine(thrown), /^error: task oops:task \(deployfile\.ts:\d+\) failed at deployfile\.ts:\d+: task exploded on purpose$/)

  // A DSL call the deployfile got wrong names the deployfile's line too; nothing ran.
  const option = await runCli(['farm', 'oops:option'], { cwd: project })
  assert.equal(option.code, 2, option.stderr)
  assert.match(errorLine(option), /^error: on\(\): unknown option "limt"; the options are .* \(at deployfile\.ts:\d+\)$/)
  const invoked = await runCli(['farm', 'oops:invoke'], { cwd: project })
  assert.equal(invoked.code, 2, invoked.stderr)
  assert.match(errorLine(invoked), /^error: Unknown task "oops:tsak".* \(at deployfile\.ts:\d+\)$/)

  const target = hosts[2] ?? ''
  const rejected = await runCli(['farm', 'oops:block', `fail_on=${target}`], { cwd: project })
  assert.equal(rejected.code, 1)
  assert.match(rejected.stderr, /✖ oops:block /)
  assert.match(rejected.stderr, new RegExp(`✖ 1 host\\(s\\) failed:\\n    ${target}: block exploded on purpose \\(at deployfile\\.ts:\\d+\\)\\n`))
})

test('a deployfile in a CommonJS project outside murder loads, with its local modules, each its own import.meta', async () => {
  // Most repositories a team deploys are not ES-module Node packages: this one says nothing of
  // "type", marks its CSS as side effects (for its web bundler), aliases a folder in tsconfig, and
  // keeps its server list in a CommonJS file.
  const dir = mkdtempSync(join(tmpdir(), 'murder-cjs-project-'))
  const stage = readFileSync(join(REPO_ROOT, 'roles/farm.yaml'), 'utf8').replace(/^ssh_config: (\S+)/m, (_, path: string) => `ssh_config: ${join(REPO_ROOT, path)}`)
  const target = hosts[0] ?? ''
  const files: Record<string, string> = {
    'package.json': '{ "name": "shop", "version": "1.0.0", "sideEffects": ["*.css"] }\n',
    'tsconfig.json': '{ "compilerOptions": { "paths": { "@deploy/*": ["./deploy/*"] } } }\n',
    'roles/farm.yaml': stage,
    'deploy/where.ts': "import { basename } from 'node:path'\nexport const folder: string = basename(import.meta.dirname)\n",
    'deploy/restart.ts': "import { task } from 'murder'\ntask('leave:restart', { desc: 'Registered by an imported file' }, async () => {})\n",
    'config/servers.cjs': "const path = require('node:path')\nmodule.exports = { folder: path.basename(__dirname) }\n",
    'deployfile.ts': [
      "import { on, roles, task, quote } from 'murder'",
      "import { folder } from '@deploy/where.ts'",
      "import servers from './config/servers.cjs'",
      "import './deploy/restart.ts'",
      "const own = new URL('.', import.meta.url).pathname",
      "task('leave:mark', { desc: 'Write where the modules live' }, async () => {",
      "  await on(roles(), async (remote) => { await remote.run(`echo ${quote(`${folder} ${servers.folder} ${own}`)} > /tmp/cjs-mark`) })",
      '})',
      "task('leave:boom', async () => {",
      "  throw new Error('boom from a CommonJS project')",
      '})',
      '',
    ].join('\n'),
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  onHost(target, 'rm -f /tmp/cjs-mark')
  const listed = await runCli(['-T', 'leave'], { cwd: dir })
  assert.equal(listed.code, 0, listed.stderr)
  assert.match(listed.stdout, /^deploy leave:mark +# Write where the modules live$/m)
  assert.match(listed.stdout, /^deploy leave:restart +# Registered by an imported file$/m)
  const marked = await runCli(['farm', 'leave:mark', `HOSTS=${target}`], { cwd: dir })
  assert.equal(marked.code, 0, marked.stderr)
  assert.equal(readOnHost(target, 'cat /tmp/cjs-mark').trim(), `deploy config ${dir}/`)
  const thrown = await runCli(['farm', 'leave:boom'], { cwd: dir })
  assert.equal(thrown.code, 1)
  assert.equal(errorLine(thrown), 'error: task leave:boom (deployfile.ts:9) failed at deployfile.ts:10: boom from a CommonJS project')
})

test('a deployfile awaiting a promise nothing settles ends the run with a line saying so, exit 1', async () => {
  const result = await runCli(['-f', join(REPO_ROOT, 'test/fixtures/deployfiles/never-settles.ts'), '-T'])
  assert.equal(result.code, 1, result.stderr)
  assert.equal(errorLine(result), 'error: the run stopped waiting for a promise that nothing will ever settle: an `await` in the deployfile or in a task that cannot finish')
})

// Ctrl-C; a CI runner's cancel, `timeout` or a container's stop (SIGTERM); a closed terminal (SIGHUP).
for (const [signal, cause, code] of [['SIGINT', 'Ctrl-C', 130], ['SIGTERM', 'SIGTERM', 143], ['SIGHUP', 'SIGHUP', 129]] as const) {
  test(`the first ${cause} stops a long command on every host, on an exec channel or in the command shell, with what it started; exit ${code}`, async () => {
    const sleeping = () => hosts.filter((host) => onHost(host, "pgrep -f 'sleep 1000'").code === 0)
    assert.deepEqual(sleeping(), [], 'no sleep left by an earlier run')
    const warm = hosts.filter((_, index) => index % 2 === 1)
    let cli: ChildProcess | undefined
    const run = runCli(['farm', 'slow:sleep', `warm=${warm.join(',')}`], { cwd: project, onSpawn: (child) => (cli = child) })
    const deadline = Date.now() + 30_000
    while (sleeping().length < hosts.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(sleeping().length, hosts.length, 'every host runs the command')
    const interruptedAt = Date.now()
    // A hangup's terminal is gone: every write fails (EPIPE here), and the cleanup must go on regardless.
    const isHangup = signal === 'SIGHUP'
    if (isHangup) for (const stream of [cli?.stdout, cli?.stderr]) stream?.destroy()
    cli?.kill(signal)
    const result = await run
    assert.equal(result.code, code, result.stderr)
    assert.ok(Date.now() - interruptedAt < 10_000, `the run ended ${Date.now() - interruptedAt} ms after ${cause}`)
    if (isHangup) {
      assert.deepEqual(sleeping(), [], 'nothing the command started runs on')
      return
    }
    const said = cause === 'Ctrl-C' ? 'interrupted' : `interrupted by ${cause}`
    assert.match(result.stderr, new RegExp(`${said}: stopping remote work \\(${hosts.length} running command\\(s\\) or file transfer\\(s\\) stopped\\)`))
    assert.match(result.stderr, new RegExp(`\`sh -c 'sleep 1000; echo never' & sleep 1000; echo after\` (was killed|exited \\d+): stopped by ${cause}`))
    assert.match(result.stderr, new RegExp(`^error: interrupted by ${cause}$`, 'm'), 'the summary says what ended the run')
    assert.doesNotMatch(result.stdout + result.stderr, /\| (never|after)$/m, 'no command went on after its sleep')
    assert.deepEqual(sleeping(), [], 'nothing the command started runs on')
  })
}

test('npm stopped under `npm exec deploy` (its SIGTERM passed on only to its shell): the orphaned run stops its remote work instead of going on', async () => {
  const sleeping = () => hosts.filter((host) => onHost(host, "pgrep -f 'sleep 1000'").code === 0)
  assert.deepEqual(sleeping(), [], 'no sleep left by an earlier run')
  const npm = spawn('npm', ['exec', '--offline', '--', 'node', join(REPO_ROOT, 'bin/deploy.js'), 'farm', 'slow:sleep'], {
    cwd: project,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  for (const stream of [npm.stdout, npm.stderr]) stream.on('data', (chunk: Buffer) => (output += chunk.toString()))
  // 'close' waits for the CLI too: it holds npm's pipes until it ends.
  const closed = new Promise<void>((resolve) => npm.once('close', () => resolve()))
  try {
    const deadline = Date.now() + 30_000
    while (sleeping().length < hosts.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(sleeping().length, hosts.length, 'every host runs the command')
    const stoppedAt = Date.now()
    npm.kill('SIGTERM')
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 20_000))])
    assert.ok(Date.now() - stoppedAt < 15_000, `the run ended ${Date.now() - stoppedAt} ms after npm's SIGTERM`)
    // Where /bin/sh hands the process over to the CLI (bash), npm's SIGTERM reaches it directly.
    assert.match(output, /interrupted by (the end of npm|SIGTERM): stopping remote work/)
    assert.match(output, /^error: interrupted by (the end of npm|SIGTERM)$/m)
    assert.deepEqual(sleeping(), [], 'nothing the command started runs on')
  } finally {
    spawnSync('pkill', ['-KILL', '-f', `${join(REPO_ROOT, 'bin/deploy.js')} farm slow:sleep`])
    for (const host of hosts) onHost(host, "pkill -f 'sleep 1000' || true")
  }
})

test('the first Ctrl-C stops an upload and a download mid-transfer, each saying what it left incomplete', async () => {
  const [uploadHost = '', downloadHost = ''] = hosts
  const size = 24 * 1024 * 1024
  const dir = mkdtempSync(join(tmpdir(), 'murder-stop-'))
  const file = join(dir, 'in.bin')
  const out = join(dir, 'out.bin')
  writeFileSync(file, randomBytes(size))
  onHost(downloadHost, `head -c ${size} /dev/urandom > /tmp/transfer-source.bin`)
  const sftpServers = () => [uploadHost, downloadHost].filter((host) => peekOnHost(host, `pgrep -f '${SFTP_SESSION}'`).code === 0)
  const uploaded = () => Number(peekOnHost(uploadHost, 'stat -c %s /tmp/transfer.bin 2>/dev/null || echo 0').stdout.trim())
  // The download arrives beside `out` under a hidden name, renamed to `out` once whole.
  const downloaded = () => readdirSync(dir).filter((name) => name !== 'in.bin').reduce((sum, name) => sum + statSync(join(dir, name)).size, 0)
  // 24 MiB at 8 Mbit/s take 25 s each way.
  for (const host of [uploadHost, downloadHost]) farm('rate', host, '8mbit')
  try {
    let cli: ChildProcess | undefined
    const args = ['farm', 'slow:transfer', `HOSTS=${uploadHost},${downloadHost}`, `file=${file}`, `out=${out}`, `from=${downloadHost}`]
    const run = runCli(args, { cwd: project, onSpawn: (child) => (cli = child) })
    const deadline = Date.now() + 30_000
    while ((uploaded() < 1024 * 1024 || downloaded() < 1024 * 1024) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200))
    assert.ok(uploaded() >= 1024 * 1024 && downloaded() >= 1024 * 1024, `both transfers under way: ${uploaded()} and ${downloaded()} bytes`)
    assert.deepEqual(sftpServers(), [uploadHost, downloadHost], 'each host serves its transfer (what the end checks is gone)')
    const interruptedAt = Date.now()
    cli?.kill('SIGINT')
    const result = await run
    assert.equal(result.code, 130, result.stderr)
    assert.ok(Date.now() - interruptedAt < 10_000, `the run ended ${Date.now() - interruptedAt} ms after Ctrl-C`)
    assert.match(result.stderr, /interrupted: stopping remote work \(2 running command\(s\) or file transfer\(s\) stopped\)/)
    assert.match(result.stderr, new RegExp(`${uploadHost}: upload to /tmp/transfer.bin stopped by Ctrl-C; the remote file is incomplete`))
    assert.match(result.stderr, new RegExp(`${downloadHost}: download of /tmp/transfer-source.bin stopped by Ctrl-C; ${out} was left as it was`))
    assert.ok(uploaded() < size, `the upload did not run to its end: ${uploaded()} of ${size} bytes`)
    assert.deepEqual(readdirSync(dir), ['in.bin'], 'the partial download is gone, and no out.bin was made')
    const gone = Date.now() + 10_000
    while (sftpServers().length > 0 && Date.now() < gone) await new Promise((resolve) => setTimeout(resolve, 200))
    assert.deepEqual(sftpServers(), [], 'no SFTP server left running on the hosts')
  } finally {
    for (const host of [uploadHost, downloadHost]) farm('rate', host, '1gbit')
    onHost(uploadHost, 'rm -f /tmp/transfer.bin')
    onHost(downloadHost, 'rm -f /tmp/transfer-source.bin')
  }
})
