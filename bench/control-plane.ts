// The control plane: one trivial command on every host of a farm of N real sshd hosts, through our
// CLI (`deploy farm demo:hello`, an echo on every host, start-up and deployfile loading included),
// Debian's parallel-ssh (`-p N -t 0 hostname`) and Capistrano 3 (`cap farm hostname`, `execute
// :hostname` on every server). Prints the median wall time of `runs` runs and the controller's
// peak memory (max RSS of the command's process tree as GNU time reports it: the largest process).
//
// Run (root; brings the farm up and down; needs apt packages pssh and capistrano):
//   node --import tsx bench/control-plane.ts [--hosts 48] [--runs 5]
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { farmHosts } from '../test/helpers/farm.ts'
import { farm, REPO, SSH_CONFIG, writeCapProject } from './distribute/methods.ts'
import { failUsage, withUsage } from './usage.ts'

const USAGE = 'bench/control-plane.ts [--hosts 48] [--runs 5]'
const { values } = withUsage(USAGE, () => parseArgs({ options: { hosts: { type: 'string', default: '48' }, runs: { type: 'string', default: '5' } } }))
const count = Number(values.hosts)
const runs = Number(values.runs)
if (!(Number.isInteger(count) && count >= 1 && count <= 250)) failUsage(USAGE, `--hosts ${values.hosts} is not a host count from 1 to 250`)
if (!(Number.isInteger(runs) && runs >= 1)) failUsage(USAGE, `--runs ${values.runs} is not a whole number of runs, at least 1`)

interface Sample {
  seconds: number
  maxRssMiB: number
}

/** Runs under GNU time; the command must succeed and say something from every host. */
function measure(command: string[], cwd: string, expectedLines: number): Sample {
  const result = spawnSync('/usr/bin/time', ['-f', '%e %M', ...command], { cwd, encoding: 'utf8', maxBuffer: 16 << 20 })
  if (result.status !== 0) throw new Error(`${command.join(' ')} exited ${result.status}:\n${result.stderr.slice(-2000)}`)
  const lines = `${result.stdout}${result.stderr}`.split('\n')
  const answered = lines.filter((line) => /\bh\d{2,3}\b|10\.213\.1\.\d+/.test(line)).length
  if (answered < expectedLines) throw new Error(`${command.join(' ')}: only ${answered} of ${expectedLines} hosts answered`)
  const [seconds = NaN, rssKiB = NaN] = (lines.filter((line) => /^\d+(\.\d+)? \d+$/.test(line.trim())).at(-1) ?? '').trim().split(' ').map(Number)
  return { seconds, maxRssMiB: rssKiB / 1024 }
}

function median(samples: Sample[]): Sample {
  const sorted = [...samples].sort((a, b) => a.seconds - b.seconds)
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? { seconds: NaN, maxRssMiB: NaN }
}

farm('down')
farm('up', String(count))
const rows: string[] = []
try {
  const hosts = farmHosts()
  const capDir = writeCapProject('cap-control', hosts, ['task :hostname do', '  on roles(:all) do |host|', '    puts "#{host}: #{capture(:hostname)}"', '  end', 'end'])
  const methods: [string, string[], string][] = [
    ['ours: `deploy farm demo:hello`', ['node', 'bin/deploy.js', 'farm', 'demo:hello'], REPO],
    ['parallel-ssh (pssh) `hostname`', ['parallel-ssh', '-p', String(count), '-t', '0', '-x', `-F ${SSH_CONFIG}`, '-H', hosts.join(' '), 'hostname'], REPO],
    ['Capistrano 3 `execute :hostname`', ['cap', 'farm', 'hostname'], capDir],
  ]
  for (const [label, command, cwd] of methods) {
    measure(command, cwd, count) // warm the page cache and tsx's transform cache
    const samples = Array.from({ length: runs }, () => measure(command, cwd, count))
    const { seconds, maxRssMiB } = median(samples)
    const all = samples.map((sample) => sample.seconds.toFixed(2)).join(', ')
    console.error(`  ${label}: ${all} s`)
    rows.push(`| ${label} | ${seconds.toFixed(2)} s | ${maxRssMiB.toFixed(0)} MiB |`)
  }
} finally {
  farm('down')
}
console.log(`\nA trivial command on ${count} hosts, median of ${runs} runs (wall time, start-up included; peak RSS of the largest process):\n`)
console.log('| tool | time | controller peak memory |\n|---|---|---|')
for (const row of rows) console.log(row)
