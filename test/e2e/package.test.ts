// murder as a project installs it: `npm pack`, then `npm install` of that tarball into a project of
// its own with none of the overrides webtorrent's dependencies would need (the package ships the
// agent bundled, webtorrent being only a development dependency), and a deploy from there.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/cli.ts'
import { ensureFarm, onHost, readOnHost } from '../helpers/farm.ts'

const DEPLOY_TO = '/var/www/packaged'
let hosts: string[] = []
let project = ''

before(() => {
  hosts = ensureFarm(8).slice(0, 3)
  project = mkdtempSync(join(tmpdir(), 'murder-package-'))
})

after(() => {
  rmSync(project, { recursive: true, force: true })
  for (const host of hosts) onHost(host, `rm -rf ${DEPLOY_TO}`)
})

test('the packed package installs with plain `npm install` (no overrides, no webtorrent) and deploys through the swarm with the agent it ships', () => {
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', project], { cwd: REPO_ROOT, encoding: 'utf8' }).trim().split('\n').at(-1) ?? ''
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'packaged-shop', private: true }))
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', `./${packed}`], { cwd: project, encoding: 'utf8', timeout: 300_000 })
  assert.equal(install.status, 0, `npm install failed:\n${install.stderr}`)
  assert.equal(existsSync(join(project, 'node_modules/webtorrent')), false, 'webtorrent is not installed')
  const shipped = join(project, 'node_modules/murder/dist/murder-agent.cjs')
  for (const file of [shipped, `${shipped}.gz`]) assert.ok(existsSync(file), `the package ships ${file}`)
  // Whatever times the install gave the files, and whatever webtorrent the project has of its own
  // (a stand-in here), the shipped bundle is the one: sources newer than it rebuild nothing.
  const agentSources = join(project, 'node_modules/murder/lib/torrent/agent')
  const later = new Date(Date.now() + 60_000)
  for (const name of readdirSync(agentSources)) utimesSync(join(agentSources, name), later, later)
  mkdirSync(join(project, 'node_modules/webtorrent'))
  writeFileSync(join(project, 'node_modules/webtorrent/package.json'), JSON.stringify({ name: 'webtorrent', version: '0.0.0', main: 'index.js' }))
  const before = { bytes: readFileSync(shipped), mtimeMs: statSync(shipped).mtimeMs }

  mkdirSync(join(project, 'app'))
  writeFileSync(join(project, 'app/index.html'), '<h1>packaged</h1>\n')
  writeFileSync(join(project, 'deployfile.ts'), `import { set } from 'murder'\nset('application', 'packaged')\nset('deploy_to', '${DEPLOY_TO}')\nset('release_source', 'app')\n`)
  mkdirSync(join(project, 'roles'))
  const sshConfig = join(REPO_ROOT, '.farm/ssh_config')
  writeFileSync(join(project, 'roles/farm.yaml'), `ssh_config: ${sshConfig}\nservers:\n${hosts.map((host) => `  - host: ${host}\n    roles: [app]\n`).join('')}`)
  // A first deploy: it ships the agent to every host (under deploy_to, gone since) from the package's bundle.
  const deploy = spawnSync('npx', ['deploy', 'farm', 'deploy'], { cwd: project, encoding: 'utf8', timeout: 240_000, env: { ...process.env, NO_COLOR: '1' } })
  assert.equal(deploy.status, 0, `deploy failed:\n${deploy.stderr}`)
  for (const host of hosts) assert.equal(readOnHost(host, `cat ${DEPLOY_TO}/current/index.html`), '<h1>packaged</h1>\n', host)
  assert.equal(statSync(shipped).mtimeMs, before.mtimeMs, 'the shipped bundle was not rebuilt')
  assert.ok(readFileSync(shipped).equals(before.bytes))
})
