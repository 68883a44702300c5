// A verified payload put at its target on a host: a tgz extracted (by the held agent command when
// there is one) or a single file copied.
import { dirname } from 'node:path'
import { Readable } from 'node:stream'
import { isDryRun, log, DeployError } from '../../lib/index.ts'
import type { HostContext } from '../../lib/index.ts'
import { chain } from '../../lib/ssh/command.ts'
import type { PayloadKind } from '../../lib/torrent/peer-survey.ts'
import { agentArgv, runDirectory, type AgentLine } from '../../lib/torrent/agent-client.ts'
import { formatKeyLine, type PayloadKey } from '../../lib/torrent/agent/payload-cipher.ts'
import type { MurderOptions } from '../../lib/torrent/murder-options.ts'
import type { HeldCommand } from '../../lib/torrent/held-agent-command.ts'
import { formatUnpackRequest, type UnpackRequest } from '../../lib/torrent/protocol.ts'
import { currentSession } from '../../lib/runner/session.ts'
import { agentLocation } from './settings.ts'

export interface PeerPlan {
  /** Empty a non-empty target first (unsafe_please_delete); otherwise such a host fails before any download. */
  shouldDelete: boolean
  /** `tgz`: extract the payload into the target directory; `file`: copy it to the target path. */
  payload: PayloadKind
  /** Once complete, the target is renamed to this path (deploy: the hidden incoming directory to the release's). */
  renameTo?: string
  /** The payload is encrypted with this key (deploy's swarm_encryption): each host gets it over SSH to unpack. */
  key?: PayloadKey
}

/**
 * Puts the verified payload at the target: the tgz extracted, or the file copied. It runs as each
 * host's download ends, so every extra round trip or process lengthens the swarm's tail: a tgz is
 * unpacked by the host's held agent command (its peer, or the deploy's seeder) when there is one,
 * otherwise by one command.
 */
export async function placePayload(remote: HostContext, options: MurderOptions, target: string, plan: PeerPlan, held: HeldCommand | undefined): Promise<void> {
  if (plan.payload === 'tgz' && held && (await unpackThroughHeld(remote, options, target, plan, held))) return
  const rename = plan.renameTo === undefined ? [] : [chain([['mv', target, plan.renameTo]])]
  if (plan.payload === 'file') {
    await remote.run([chain([['mkdir', '-p', dirname(target)], ['cp', options.payloadPath, target]]), ...rename].join(' && '))
    return
  }
  // A tar that fails half-way (a corrupt payload, a full disk) leaves the target empty, so that a
  // run again is not refused for a target that is "not empty".
  const emptyTarget = chain([['find', target, '-mindepth', '1', '-maxdepth', '1', '-exec', 'rm', '-rf', '{}', '+']])
  // An encrypted payload is decrypted by the agent into tar, its key on the command's stdin (so
  // an exec channel of its own, not the host's shell); each decrypted chunk is a fresh buffer, so
  // it runs with the transfer daemons' malloc tunables.
  const unpack = plan.key ? agentArgv(agentLocation(), 'unpack', { payload: options.payloadPath, into: target }, true) : ['tar', '-xzf', options.payloadPath, '-C', target]
  const untar = `{ ${chain([unpack])} || { ${emptyTarget}; false; }; }`
  const prepare = chain([...(plan.shouldDelete ? [['rm', '-rf', target]] : []), ['mkdir', '-p', target]])
  await remote.run([prepare, untar, ...rename].join(' && '), plan.key ? { stdin: Readable.from([formatKeyLine(plan.key)]) } : {})
}

/**
 * Asks the host's held agent command to unpack the payload it holds into the target (its key, if
 * any, in the request on that command's stdin): no process, shell or SSH session of its own. Shown
 * as a command is. False when that command is no longer open, so the caller runs one instead.
 */
async function unpackThroughHeld(remote: HostContext, options: MurderOptions, target: string, plan: PeerPlan, held: HeldCommand): Promise<boolean> {
  const request: UnpackRequest = {
    into: target,
    ...(plan.renameTo === undefined ? {} : { renameTo: plan.renameTo }),
    ...(plan.shouldDelete ? { emptyFirst: true } : {}),
    ...(plan.key ? { keyLine: formatKeyLine(plan.key).trim() } : {}),
  }
  const renamed = plan.renameTo === undefined ? '' : `, renamed to ${plan.renameTo}`
  const described = `unpack ${options.payloadPath} into ${target}${renamed}${plan.shouldDelete ? ', emptied first' : ''} (asked of the held agent command${plan.key ? ', the key with the request on its stdin' : ''})`
  if (!isDryRun() && !held.isOpen()) return false
  currentSession().reporter.emit({ type: 'command', host: remote.host.name, command: described })
  if (isDryRun()) return true
  let answer: AgentLine | undefined
  try {
    answer = await held.ask(formatUnpackRequest(request), ['unpacked', 'unpackFailed'])
  } catch (error) {
    // The command's own failure already names the host.
    if (error instanceof DeployError) throw error
    const why = error instanceof Error ? error.message : String(error)
    throw new DeployError(`${remote.host.name}: cannot unpack ${options.payloadPath} into ${target}: ${why} (stopped by murder:stop_peering or a signal? its log is in ${runDirectory(agentLocation())}); run it again.`, { exitCode: 1, cause: error })
  }
  if (!answer) return false
  if (answer.type === 'unpackFailed') throw new DeployError(`${remote.host.name}: ${String(answer['message'])}`, { exitCode: 1 })
  const warnings = Array.isArray(answer['warnings']) ? answer['warnings'] : []
  for (const warning of warnings) log(`${remote.host.name}: ${String(warning)}`, 'warn')
  return true
}
