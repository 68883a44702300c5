import { spawnSync } from 'node:child_process'
import { startSwarm, peerHome, stopSwarm } from './test/helpers/local-swarm.ts'
const setup = await startSwarm({ sizeBytes: 1 << 20 })
const home = peerHome(setup, 0)
const mode = process.argv[2] ?? ''
const results: string[] = []
for (let i = 0; i < 8; i++) {
  const script = mode === 'plain' ? setup.agent : '/tmp/cc/loader.cjs'
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, '--initial-old-space-size=64', script, ...home.args(0)], { input: 'stop\n', encoding: 'utf8', env: { ...process.env, ...(mode === 'cc' ? { CC: '1' } : {}) } })
  results.push(r.stderr.trim().split('\n').at(-1) ?? '')
  spawnSync('rm', ['-f', home.payload])
}
console.log(mode, results.join(' | '))
await stopSwarm(setup, [home.state])
