import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Inventory } from '../../lib/inventory/inventory.ts'
import { applyFilter, validateFilter } from '../../lib/inventory/filter.ts'
import { SshConfigFile } from '../../lib/inventory/ssh-config.ts'
import { SshBackend } from '../../lib/ssh/ssh-backend.ts'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'

const summary = (inventory: Inventory) =>
  inventory.all().map((host) => ({ name: host.name, hostname: host.hostname, user: host.user, port: host.port, roles: [...host.roles].sort() }))

test('declaring a server again merges its roles and user; its hostname and port are the server, as in Capistrano', () => {
  const inventory = new Inventory()
  inventory.server('web1', { roles: 'web' })
  inventory.server('deploy@web1', { roles: ['app'] })
  inventory.role('db', ['web1'])
  inventory.server('web2', { port: 2222, roles: 'web' })
  inventory.server('web2:2222', { roles: 'db' })
  assert.deepEqual(summary(inventory), [
    { name: 'web1', hostname: 'web1', user: 'deploy', port: undefined, roles: ['app', 'db', 'web'] },
    { name: 'web2', hostname: 'web2', user: undefined, port: 2222, roles: ['db', 'web'] },
  ])
})

test('a hostname with and without a port is two servers, in either order: the default port is another sshd', () => {
  for (const order of [['h01', 'h01:2222'], ['h01:2222', 'h01']]) {
    const inventory = new Inventory()
    for (const text of order) inventory.server(text, { roles: text.includes(':') ? 'web' : 'app' })
    inventory.role('db', ['h01'])
    const byName = new Map(summary(inventory).map((host) => [host.name, host]))
    assert.deepEqual(byName.get('h01'), { name: 'h01', hostname: 'h01', user: undefined, port: undefined, roles: ['app', 'db'] }, order.join(' then '))
    assert.deepEqual(byName.get('h01:2222'), { name: 'h01:2222', hostname: 'h01', user: undefined, port: 2222, roles: ['web'] }, order.join(' then '))
  }
})

test('one hostname on two ports is two servers, each named with its port', () => {
  const inventory = new Inventory()
  const first = inventory.server('localhost:2201', { roles: 'web' })
  assert.equal(first.name, 'localhost', 'alone, a server is named by its hostname')
  inventory.server('localhost:2201', { roles: 'cache' })
  inventory.server('localhost', { port: 2202, roles: 'app' })
  inventory.server('localhost:2202', { roles: 'db' })
  inventory.server('[::1]:2203')
  inventory.server('[::1]:2204')
  assert.deepEqual(summary(inventory), [
    { name: 'localhost:2201', hostname: 'localhost', user: undefined, port: 2201, roles: ['cache', 'web'] },
    { name: 'localhost:2202', hostname: 'localhost', user: undefined, port: 2202, roles: ['app', 'db'] },
    { name: '[::1]:2203', hostname: '::1', user: undefined, port: 2203, roles: [] },
    { name: '[::1]:2204', hostname: '::1', user: undefined, port: 2204, roles: [] },
  ])
  assert.equal(first.name, 'localhost:2201', 'the Host object declared first is renamed too')
})

test('HOSTS= selects a server by its name, or every server on a hostname', () => {
  const inventory = new Inventory()
  inventory.server('localhost:2201')
  inventory.server('localhost:2202')
  inventory.server('web2')
  const names = (hosts: string[]) => {
    validateFilter({ roles: [], hosts }, inventory.all(), inventory.roleNames())
    return applyFilter(inventory.all(), { roles: [], hosts }).map((host) => host.name)
  }
  assert.deepEqual(names(['localhost:2202']), ['localhost:2202'])
  assert.deepEqual(names(['localhost']), ['localhost:2201', 'localhost:2202'])
  assert.throws(() => names(['localhost:2203']), /Unknown host "localhost:2203" in HOSTS filter\. Known hosts: localhost:2201, localhost:2202, web2\./)
})

test('ROLES= and HOSTS= that each match servers but none together are refused, not a run that does nothing', () => {
  const inventory = new Inventory()
  inventory.server('h01', { roles: ['web'] })
  inventory.server('h02', { roles: ['db'] })
  const filter = { roles: ['web'], hosts: ['h02'] }
  assert.throws(() => validateFilter(filter, inventory.all(), inventory.roleNames()), {
    name: 'UsageError',
    message: 'ROLES=web and HOSTS=h02 together match no server; loosen one of them.',
  })
  assert.doesNotThrow(() => validateFilter({ roles: ['web', 'db'], hosts: ['h02'] }, inventory.all(), inventory.roleNames()))
})

test('a role declared with no servers is known, and ROLES= naming only such roles is refused, not a run that does nothing', () => {
  const inventory = new Inventory()
  inventory.role('web', ['h01'])
  inventory.role('worker', [])
  assert.deepEqual([...inventory.roleNames()].sort(), ['web', 'worker'])
  assert.deepEqual(inventory.withRoles(['worker']), [])
  assert.throws(() => validateFilter({ roles: ['worker'], hosts: [] }, inventory.all(), inventory.roleNames()), {
    name: 'UsageError',
    message: 'ROLES=worker matches no server: no server has that role (declared without hosts); give it servers in the stage file or pick another role.',
  })
  assert.doesNotThrow(() => validateFilter({ roles: ['worker', 'web'], hosts: [] }, inventory.all(), inventory.roleNames()))
  assert.throws(() => validateFilter({ roles: ['job'], hosts: [] }, inventory.all(), inventory.roleNames()), /Unknown role "job" in ROLES filter\. Known roles: web, worker\./)
})

test('ssh_config is looked up by hostname, not by the port-qualified name', () => {
  const inventory = new Inventory()
  const a = inventory.server('localhost:2201')
  inventory.server('localhost:2202')
  const target = new SshConfigFile('/nonexistent/ssh_config').resolve(a, 'me')
  assert.deepEqual({ name: target.name, hostname: target.hostname, port: target.port, user: target.user }, { name: 'localhost:2201', hostname: 'localhost', port: 2201, user: 'me' })
})

test('a server option one typo from a known one is refused; other keys are properties of the host', () => {
  const inventory = new Inventory()
  assert.throws(() => inventory.server('web1', { role: ['web'] }), /^Error: server web1: "role" is not an option; did you mean "roles"\?$/)
  assert.throws(() => inventory.role('db', ['web2'], { primery: true }), /^Error: server web2: "primery" is not an option; did you mean "primary"\?$/)
  assert.throws(() => inventory.server('web4', { noRelease: true }), /did you mean "no_release"\?$/)
  assert.throws(() => inventory.server('web4', { annouce_ip: '10.0.0.5' }), /did you mean "announce_ip"\?$/)
  assert.throws(() => inventory.server('web4', { user: 'b c' }), /^Error: invalid user "b c" of web4: use letters, digits, "_", "\." and "-", starting with a letter or "_"$/)
  assert.throws(() => inventory.server('web4', { user: '-oProxyCommand=x' }), /^Error: invalid user "-oProxyCommand=x" of web4/)
  const host = inventory.server('web3', { roles: 'web', rack: 'r12', ports: [3000, 3001], users: ['app'], post: 1, rules: 'x', announce_ips: [] })
  assert.deepEqual(Object.keys(host.properties), ['rack', 'ports', 'users', 'post', 'rules', 'announce_ips'])
})

test("a role's primary is its primary: true server, else its first; a server gone from the run lets the next stand in", () => {
  const inventory = new Inventory()
  inventory.server('db1', { roles: 'db' })
  inventory.server('db2', { roles: 'db', primary: true })
  inventory.server('db3', { roles: 'db' })
  inventory.server('web1', { roles: 'web' })
  assert.equal(inventory.primary('db')?.name, 'db2')
  assert.equal(inventory.primary('web')?.name, 'web1')
  assert.equal(inventory.primary('db', (host) => host.name === 'db2')?.name, 'db1')
  assert.equal(inventory.primary('db', (host) => host.name !== 'db3')?.name, 'db3')
  assert.equal(inventory.primary('web', () => true), undefined)
  assert.equal(inventory.primary('cache'), undefined)
})

test("ssh_config's host key options are read as ssh reads them", () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssh-config-'))
  const path = join(dir, 'ssh_config')
  writeFileSync(path, [
    'Host strict', '  StrictHostKeyChecking yes', '  UserKnownHostsFile ~/.ssh/a kh/b', '  GlobalKnownHostsFile none',
    'Host lax', '  StrictHostKeyChecking no', '  UserKnownHostsFile /dev/null',
    'Host lower', '  stricthostkeychecking true', '  userknownhostsfile "/srv/with space/kh"',
    'Host asking', '  StrictHostKeyChecking ask',
    'Host *', '  User deploy',
  ].join('\n'))
  const config = new SshConfigFile(path)
  const of = (name: string) => {
    const { hostKeyChecking, userKnownHostsFiles, globalKnownHostsFiles } = config.resolve({ name, hostname: name, user: undefined, port: undefined }, 'me')
    return { hostKeyChecking, userKnownHostsFiles, globalKnownHostsFiles }
  }
  assert.deepEqual(of('strict'), { hostKeyChecking: 'yes', userKnownHostsFiles: [join(homedir(), '.ssh/a'), join(dir, 'kh/b')], globalKnownHostsFiles: [] })
  assert.deepEqual(of('lax'), { hostKeyChecking: 'no', userKnownHostsFiles: ['/dev/null'], globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'] })
  // Keywords in any case, values as ssh reads them, a quoted path whole.
  assert.deepEqual(of('lower'), { hostKeyChecking: 'yes', userKnownHostsFiles: ['/srv/with space/kh'], globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'] })
  // Written, ask wants a person to check a new key: refused, as under yes (known-hosts.ts).
  assert.equal(of('asking').hostKeyChecking, 'ask')
  // ssh's own default, `ask`, cannot ask here: a new host is recorded, a changed key refused.
  assert.deepEqual(of('other'), {
    hostKeyChecking: 'accept-new',
    userKnownHostsFiles: [join(homedir(), '.ssh/known_hosts'), join(homedir(), '.ssh/known_hosts2')],
    globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
  })
})

test('ssh_config Include is followed as ssh follows it; ProxyCommand and ProxyJump none are read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssh-include-'))
  mkdirSync(join(dir, 'config.d'))
  writeFileSync(join(dir, 'config.d', '10-bastion.conf'), 'Host h02\n  ProxyJump h01\n')
  writeFileSync(join(dir, 'config.d', '20-cmd.conf'), 'Host h03\n  ProxyCommand nc %h %p\n')
  writeFileSync(join(dir, 'config.d', 'README'), 'Host h02\n  User nobody-reads-this\n')
  writeFileSync(join(dir, 'main'), `Include ${join(dir, 'config.d')}/*.conf ${join(dir, 'missing')}\nHost h04\n  ProxyJump none\nHost h05\n  ProxyCommand none\n  ProxyJump h01\nHost h06\n  ProxyJump h01\nHost *\n  User deploy\n  ProxyCommand nc %h %p\n`)
  const config = new SshConfigFile(join(dir, 'main'))
  const target = (name: string) => config.resolve({ name, hostname: name, user: undefined, port: undefined }, 'me')
  assert.deepEqual([target('h02').proxyJump, target('h02').user], ['h01', 'deploy'])
  assert.equal(target('h03').proxyCommand, 'nc %h %p')
  assert.deepEqual([target('h04').proxyJump, target('h04').proxyCommand], [undefined, undefined])
  // Whichever of ProxyCommand and ProxyJump comes first counts, as in ssh; `none` is none.
  assert.deepEqual([target('h05').proxyJump, target('h05').proxyCommand], [undefined, undefined])
  assert.deepEqual([target('h06').proxyJump, target('h06').proxyCommand], ['h01', undefined])
  assert.deepEqual([target('h07').proxyJump, target('h07').proxyCommand], [undefined, 'nc %h %p'])
  // Quoted paths with spaces, a trailing comment, `Include=`; dotfiles and directories are not matched.
  mkdirSync(join(dir, 'with space'))
  writeFileSync(join(dir, 'with space', 'a.conf'), 'Host q1\n  User quoted\n')
  writeFileSync(join(dir, 'with space', '.hidden.conf'), 'Host q1\n  User hidden\n')
  mkdirSync(join(dir, 'with space', 'dir.conf'))
  writeFileSync(join(dir, 'quoted'), `Include="${join(dir, 'with space')}/*.conf" # the team's hosts\n`)
  assert.equal(new SshConfigFile(join(dir, 'quoted')).resolve({ name: 'q1', hostname: 'q1', user: undefined, port: undefined }, 'me').user, 'quoted')
  // Inside a block ssh includes conditionally: refused, naming the line, rather than applied to every host.
  writeFileSync(join(dir, 'scoped'), `Host web\n  Include ${join(dir, 'with space', 'a.conf')}\n`)
  assert.throws(() => new SshConfigFile(join(dir, 'scoped')), { name: 'ConfigError', message: `${join(dir, 'scoped')}:2: an Include inside a Host or Match block is not supported; move it above the first Host line` })
  // An Include that includes itself ends, with the file named.
  writeFileSync(join(dir, 'loop'), `Include ${join(dir, 'loop')}\n`)
  assert.throws(() => new SshConfigFile(join(dir, 'loop')), { name: 'ConfigError', message: `${join(dir, 'loop')}: Include nested more than 16 deep` })
})

test('a host ssh would reach through a ProxyCommand, through several hops in one ProxyJump, or round a ProxyJump loop, is refused, not reached directly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssh-proxy-'))
  writeFileSync(join(dir, 'config'), 'Host viacmd\n  HostName 127.0.0.1\n  ProxyCommand nc %h %p\nHost viahops\n  HostName 127.0.0.1\n  ProxyJump a,b,c\nHost loopa\n  ProxyJump loopb\nHost loopb\n  ProxyJump loopa\n')
  const backend = new SshBackend({ sshConfig: new SshConfigFile(join(dir, 'config')), connectTimeoutMs: 1000, reporter: { emit: () => {} }, isShellPersistent: false, transferConcurrency: 1 })
  const host = (name: string) => ({ name, hostname: name, user: 'deploy', port: undefined, roles: new Set<string>(), properties: {} })
  await assert.rejects(backend.exec(host('viacmd'), 'true', {}), { message: 'viacmd: ssh_config gives it a ProxyCommand (nc %h %p), which murder does not run; use ProxyJump (one hop) instead' })
  await assert.rejects(backend.exec(host('viahops'), 'true', {}), { message: "viahops: ssh_config gives it ProxyJump a,b,c: murder takes one hop per Host block; write ProxyJump c for it, and ProxyJump b in c's block" })
  await assert.rejects(backend.exec(host('loopa'), 'true', {}), { message: 'loopb: ProxyJump goes round in a loop (loopa → loopb → loopa); fix ssh_config' })
  await backend.close()
})

test("ssh_config's tokens and ${VAR}s are expanded as ssh expands them: HostName's %h, a key file's %d %r %h %n %p %u %C", () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssh-config-'))
  const path = join(dir, 'ssh_config')
  writeFileSync(path, [
    'Host web*', '  HostName %h.corp.example', '  User app', '  Port 2222',
    '  IdentityFile %d/.ssh/%r@%h', '  IdentityFile ${KEYS}/%n-%p-%u', '  IdentityFile keys/100%%', '  UserKnownHostsFile ~/kh/%k',
    'Host hashed', '  IdentityFile ~/.ssh/%C', '  ProxyJump jump-%n',
    'Host bad', '  HostName %r.example', 'Host unset', '  IdentityFile ${NOT_SET_HERE}/key', 'Host lone', '  IdentityFile key%',
  ].join('\n'))
  const config = new SshConfigFile(path)
  const resolve = (name: string) => config.resolve({ name, hostname: name, user: undefined, port: undefined }, 'me', { KEYS: '/srv/keys%h' })
  const web = resolve('web1')
  assert.equal(web.hostname, 'web1.corp.example')
  // %h in a file option is the host connected to (after HostName); %n as named; an environment value is not expanded again.
  assert.deepEqual(web.identityFiles, [join(homedir(), '.ssh/app@web1.corp.example'), '/srv/keys%h/web1-2222-me', join(dir, 'keys/100%')])
  assert.deepEqual(web.userKnownHostsFiles, [join(homedir(), 'kh/web1')])
  const [hashed] = resolve('hashed').identityFiles
  assert.match(hashed ?? '', /\/\.ssh\/[0-9a-f]{40}$/)
  assert.equal(resolve('hashed').proxyJump, 'jump-hashed')
  assert.throws(() => resolve('bad'), { name: 'ConfigError', message: `${path}: HostName %r.example: %r is not a token HostName takes (it takes %% %h; write %% for a %)` })
  assert.throws(() => resolve('unset'), { name: 'ConfigError', message: `${path}: IdentityFile \${NOT_SET_HERE}/key: the environment variable NOT_SET_HERE is not set` })
  assert.throws(() => resolve('lone'), { name: 'ConfigError', message: /IdentityFile key%: a lone % at its end is not a token/ })
})
