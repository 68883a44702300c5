// The peers' first round (murder:peer, and deploy_via murder): every peer's target checked before any byte moves, so that a bad
// target leaves no host half-done.
import { posix } from 'node:path'
import { isDryRun, on, DeployError } from '../../lib/index.ts'
import type { Host, HostContext } from '../../lib/index.ts'
import { readSurvey, surveyCommand, type PeerSurvey } from '../../lib/torrent/peer-survey.ts'
import { agentPath } from '../../lib/torrent/agent-client.ts'
import { emptyingRefusal, expandHome, holdsHome, whyUnsafeToEmpty, type MurderOptions } from '../../lib/torrent/murder-options.ts'
import { deployLayoutIfSet, agentLocation } from './settings.ts'
import { SWARM_HOSTS, rememberAddress } from './swarm-hosts.ts'
import { agentMissing } from './agents.ts'
import type { PeerPlan } from './payload-placement.ts'

/**
 * Asks a peer host in one command (lib/torrent/peer-survey.ts) whether the agent is there, its
 * address and home, and whether the target is taken; remembers its address.
 */
async function surveyPeer(remote: HostContext, target: string, payload: PeerPlan['payload'], fileName: string): Promise<PeerSurvey> {
  const output = await remote.capture(surveyCommand(agentPath(agentLocation()), target, payload, fileName))
  if (isDryRun()) return { hasAgent: true, address: '', target, isOccupied: false, home: '' }
  let survey: PeerSurvey
  try {
    survey = readSurvey(output, target, fileName)
  } catch (error) {
    throw new DeployError(`${remote.host.name}: ${(error as Error).message}`, { exitCode: 1 })
  }
  if (!survey.hasAgent) throw agentMissing(remote)
  rememberAddress(remote.host.name, survey.address)
  return survey
}

/**
 * Surveys every peer and refuses a target that is a file, not writable, or taken (unless emptied,
 * and then only where emptying is safe). Returns each host's target (its `~/` expanded) and the
 * hosts that failed, which take no further part (within max_fail).
 */
export async function checkPeerTargets(options: MurderOptions, peers: readonly Host[], target: string, plan: PeerPlan): Promise<{ targets: Map<string, string>; failures: Map<string, Error> }> {
  const targets = new Map<string, string>()
  const layout = plan.shouldDelete ? deployLayoutIfSet() : undefined
  // The setting that names the target: a deploy's release goes under deploy_to.
  const setting = plan.renameTo === undefined ? 'destination_path' : 'deploy_to'
  const checked = await on(peers, SWARM_HOSTS, async (remote) => {
    const survey = await surveyPeer(remote, target, plan.payload, posix.basename(options.payloadPath))
    targets.set(remote.host.name, survey.target)
    // Found now, not after every byte has arrived.
    if (survey.unusable === 'not-a-directory') {
      throw new DeployError(`${remote.host.name}: ${survey.target} is a file, not a directory; move it out of the way or point ${setting} elsewhere.`, { exitCode: 1 })
    }
    if (survey.unusable === 'not-writable') {
      throw new DeployError(`${remote.host.name}: the SSH user cannot write to ${survey.target} (it or the nearest directory above it that exists is not writable); make that directory writable for the SSH user or choose a ${setting} it can write to.`, { exitCode: 1 })
    }
    if (survey.isOccupied && !plan.shouldDelete) {
      const what = plan.payload === 'file' ? 'exists; pass unsafe_please_delete=1 to replace it' : 'is not empty; pass unsafe_please_delete=1 to replace its contents'
      throw new DeployError(`${remote.host.name}: ${survey.target} ${what}.`, { exitCode: 1 })
    }
    if (plan.shouldDelete) {
      // Again with this host's home: `~/` in the target or in deploy_to, and the home itself.
      const here = layout && { ...layout, deployTo: expandHome(layout.deployTo, survey.home) }
      const why = holdsHome(survey.target, survey.home)
        ? `it holds the home directory of the SSH user (${survey.home})`
        : isHomeDotDirectory(survey.target, survey.home)
          ? `it is a dot-directory of the SSH user's home (${survey.home}: keys, settings)`
          : whyUnsafeToEmpty(survey.target, here, agentLocation().murderPath)
      if (why !== undefined) throw new DeployError(`${remote.host.name}: ${emptyingRefusal('unsafe_please_delete', survey.target, why)}`, { exitCode: 1 })
    }
  })
  return { targets, failures: checked.failures }
}

/** `~/.ssh` wherever the home is (`/var/lib/jenkins/.ssh`), or what lies in it. */
function isHomeDotDirectory(target: string, home: string): boolean {
  const base = home.replace(/\/+$/, '')
  if (!base.startsWith('/') || !target.startsWith(`${base}/`)) return false
  return target.slice(base.length + 1).startsWith('.')
}
