import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { readStageFile } from '../../lib/inventory/stage-file.ts'
import { ConfigError } from '../../lib/errors.ts'

const root = mkdtempSync(join(tmpdir(), 'murder-stage-'))
mkdirSync(join(root, 'roles'))
mkdirSync(join(root, 'ssh'))
writeFileSync(join(root, 'ssh/config'), 'Host *\n  User deploy\n')

function stageFile(text: string): string {
  const path = join(root, 'roles', 'stage.yaml')
  writeFileSync(path, text)
  return path
}

test('a valid stage file reads servers, roles, variables and ssh_config', () => {
  const path = stageFile(
    ['ssh_config: ssh/config', 'variables:', '  keep_releases: 3', 'servers:', '  - host: deploy@web1:2222', '    roles: [web, app]', '    primary: true', '  - web2', 'roles:', '  db: web2', ''].join('\n')
  )
  const stage = readStageFile(path, root)
  assert.equal(stage.sshConfig, join(root, 'ssh/config'))
  assert.deepEqual(stage.variables, { keep_releases: 3 })
  assert.deepEqual(stage.servers, [
    { host: 'deploy@web1:2222', options: { roles: ['web', 'app'], primary: true } },
    { host: 'web2', options: {} },
  ])
  assert.deepEqual(stage.roles, [{ name: 'db', hosts: ['web2'] }])
})

test('properties of their own are kept: only a key one typo from an option is refused', () => {
  const stage = readStageFile(stageFile('servers:\n  - host: web1\n    roles: [web]\n    rack: r12\n    announce_ip: 10.0.0.5\n'), root)
  assert.deepEqual(stage.servers, [{ host: 'web1', options: { roles: ['web'], rack: 'r12', announce_ip: '10.0.0.5' } }])
})

test('a port written as a string and YAML 1.1 yes/no flags are read as they were before the checks', () => {
  const stage = readStageFile(stageFile('servers:\n  - host: web1\n    port: "2222"\n    no_release: yes\n    primary: "off"\n'), root)
  assert.deepEqual(stage.servers, [{ host: 'web1', options: { port: 2222, no_release: true, primary: false } }])
})

test('bad values are one-line ConfigErrors naming the file and line, not crashes', () => {
  const cases: [string, string][] = [
    ['servers:\n  - host: web1\n    roles: web, app\n', '3: roles of web1 is the one string "web, app"; write a list: roles: [web, app]'],
    ['servers:\n  - host: web1\n    roles: [Web]\n', '3: invalid role name "Web": use lowercase letters, digits, "_" and "-", starting with a letter'],
    ['servers:\n  - host: "web1:abc"\n', '2: invalid host "web1:abc": write it as host, user@host or user@host:port'],
    ['servers:\n  - host: "web1:99999"\n', '2: invalid port 99999 in host "web1:99999": use 1-65535'],
    ['servers:\n  - host: "user@"\n', '2: invalid host "user@": write it as host, user@host or user@host:port'],
    ['servers:\n  - "user@"\n', '2: invalid host "user@": write it as host, user@host or user@host:port'],
    ['servers:\n  - host: web1\n    port: "2x"\n', '3: port of web1 must be a number 1-65535, got "2x"'],
    ['servers:\n  - host: web1\n    user: 7\n', '3: user of web1 must be a user name'],
    ['servers:\n  - host: web1\n    user: "b c"\n', '3: invalid user "b c" of web1: use letters, digits, "_", "." and "-", starting with a letter or "_"'],
    ['servers:\n  - host: web1\n    no_release: maybe\n', '3: no_release of web1 must be true or false, got "maybe"'],
    ['servers:\n  - host: web1\n    role: [web]\n', '3: server web1: "role" is not an option; did you mean "roles"?'],
    ['servers:\n  - host: web1\n    no-release: true\n', '3: server web1: "no-release" is not an option; did you mean "no_release"?'],
    ['servers: [web1]\nroles:\n  Db: [web1]\n', '3: invalid role name "Db": use lowercase letters, digits, "_" and "-", starting with a letter'],
    ['servers: [web1]\nroles:\n  db:\n    - web1\n    - "bad host"\n', '5: invalid host name "bad host": use letters, digits, dots, dashes and underscores'],
    ['servers: [web1]\nroles:\n  db:\n', '3: role db must list host names'],
    ['ssh_config: ssh/missing\nservers: [web1]\n', `1: ssh_config ssh/missing does not exist (${join(root, 'ssh/missing')}); fix the path or remove ssh_config`],
    ['ssh_config: ssh\nservers: [web1]\n', `1: ssh_config ssh is not a file (${join(root, 'ssh')})`],
  ]
  for (const [text, expected] of cases) {
    const path = stageFile(text)
    assert.throws(
      () => readStageFile(path, root),
      (error: unknown) => error instanceof ConfigError && error.message === `${relative(process.cwd(), path)}:${expected}`,
      text
    )
  }
})
