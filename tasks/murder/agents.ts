// The murder agent on the hosts: Node checked, the bundle installed, its daemons queried and stopped.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { log, on, quote, DeployError } from '../../lib/index.ts'
import type { Host, HostContext } from '../../lib/index.ts'
import { agentPath, runAgent, runDirectory, type AgentLocation, type AgentLine } from '../../lib/torrent/agent-client.ts'
import type { ProcessRef } from '../../lib/torrent/protocol.ts'
import { commandHint } from '../../lib/runner/command-hint.ts'
import { agentLocation } from './settings.ts'
import { murderHosts, SWARM_HOSTS } from './swarm-hosts.ts'

/** The agent needs Node >= 20 on the host: name the host and what to do when it is missing or older. */
export async function checkNode(remote: HostContext, node: string): Promise<void> {
  const version = await remote.run([node, '-e', 'process.stdout.write(process.versions.node)'], { quiet: true, allowFailure: true })
  if (version.code !== 0) {
    throw new DeployError(`${remote.host.name}: ${node} is missing (exit ${version.code}); install Node >= 20 there or set murder_node.`, { exitCode: 1 })
  }
  const found = version.stdout.trim()
  if (!(Number(found.split('.')[0]) >= 20)) {
    throw new DeployError(`${remote.host.name}: Node ${found} is too old for the murder agent; install Node >= 20 there.`, { exitCode: 1 })
  }
}

export async function requireAgent(remote: HostContext): Promise<void> {
  if (!(await remote.test(['test', '-f', agentPath(agentLocation())]))) throw agentMissing(remote)
}

export function agentMissing(remote: HostContext): DeployError {
  return new DeployError(
    `${remote.host.name}: the murder agent is not installed at ${agentPath(agentLocation())}; run \`${commandHint('murder:distribute_files')}\` first.`,
    { exitCode: 1 }
  )
}

type AgentKind = 'tracker' | 'seed' | 'peer'
export const KIND_NAMES: Record<AgentKind, string> = { tracker: 'tracker', seed: 'seeder', peer: 'peer' }

/**
 * Stops the agent daemons of one kind on these hosts, those of `tag` or all of them, and says on
 * each host what it stopped or that nothing was running (`isQuiet`: the deploy's own clean-up).
 */
export async function stopAgents(hosts: Host | readonly Host[], kind: AgentKind, which: { tag: string } | 'all', isQuiet = false): Promise<void> {
  agentLocation()
  await on(hosts, SWARM_HOSTS, async (remote) => {
    const selector = which === 'all' ? { all: true } : { tag: which.tag }
    const events = await runAgent(remote, agentLocation(), 'stop', { state: runDirectory(agentLocation()), kind, ...selector })
    if (!isQuiet) describeStop(remote, KIND_NAMES[kind], events)
  })
}

export function describeStop(remote: HostContext, what: string, events: AgentLine[]): void {
  const stopped = events.find((event) => event.type === 'stopped')
  const list = Array.isArray(stopped?.['stopped']) ? (stopped['stopped'] as { kind?: string; tag?: string; pid?: number }[]) : []
  if (list.length === 0) log(`${remote.host.name}: no ${what} was running`)
  for (const item of list) log(`${remote.host.name}: stopped ${item.kind ?? what}${item.tag ? ` ${item.tag}` : ''} (pid ${item.pid})`)
}

/** A start that found its daemon running with the same settings left it be: say so. */
export function reportWasRunning(remote: HostContext, events: readonly AgentLine[], what: string): void {
  const started = events.find((event) => event.type === 'started')
  if (started?.['wasRunning'] === true) log(`${remote.host.name}: ${what} already runs there (pid ${String(started['pid'])}); left as is`)
}

/** Whether a seeder daemon of `tag` runs on the host (the agent's `status`). */
export async function isSeeding(remote: HostContext, tag: string): Promise<boolean> {
  const status = (await runAgent(remote, agentLocation(), 'status', { state: runDirectory(agentLocation()) })).find((event) => event.type === 'status')
  const running = Array.isArray(status?.['running']) ? (status['running'] as ProcessRef[]) : []
  return running.some((process) => process.kind === 'seed' && process.tag === tag)
}

/** Uploads the agent only where it is missing or differs from this controller's build. */
export async function ensureAgent(hosts: readonly Host[]): Promise<void> {
  const agent = await agentBundle()
  const digest = createHash('sha256').update(readFileSync(agent.bundle)).digest('hex')
  const where = agentLocation()
  await on([...new Set(hosts)], SWARM_HOSTS, async (remote) => {
    const remoteDigest = await remote.capture(`sha256sum ${quote(agentPath(where))} 2>/dev/null || true`)
    if (remoteDigest.split(' ')[0] === digest) return
    await remote.run(['mkdir', '-p', where.murderPath])
    await installAgent(remote, where, agent.packed)
  })
}

/**
 * Puts the agent on a host from its gzipped bundle, replacing any older one in a single rename: an
 * upload cut short leaves only the partial files, never a half-written agent.
 */
export async function installAgent(remote: HostContext, where: AgentLocation, packedBundle: string): Promise<void> {
  const agent = agentPath(where)
  const [packed, unpacked] = [`${agent}.gz.part`, `${agent}.part`]
  await remote.upload(packedBundle, packed)
  await remote.run(`gzip -dc ${quote(packed)} > ${quote(unpacked)} && mv -f ${quote(unpacked)} ${quote(agent)} && rm -f ${quote(packed)}`)
}

export async function stopTracker(): Promise<void> {
  await stopAgents(murderHosts().tracker, 'tracker', 'all')
}

/** The agent bundle and its gzipped copy, built on demand: esbuild is loaded only by runs that ship the agent. */
export async function agentBundle(): Promise<{ bundle: string; packed: string }> {
  const { buildAgent, packAgent } = await import('../../lib/torrent/build-agent.ts')
  const bundle = await buildAgent()
  return { bundle, packed: await packAgent(bundle) }
}
