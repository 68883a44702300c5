// The `current` swap, wave by wave, and switching hosts back when a wave fails.
import { DeployError, InterruptedError, RemoteCommandError, checkInterrupted, fetch, invoke, log, on, onlyHosts, releaseRoles } from '../../lib/index.ts'
import { currentSession } from '../../lib/runner/session.ts'
import type { Host, HostContext } from '../../lib/index.ts'
import { planWaves } from '../../lib/deploy/waves.ts'
import { chain } from '../../lib/ssh/command.ts'
import { readDirectoryName, readWaveSpec } from '../../lib/deploy/deploy-inputs.ts'
import { deployPath, releasesPath, currentPath } from './layout.ts'
import { thisRun } from './run-state.ts'
import { LockLostError, runWhileLockIsMine } from './lock.ts'

async function swapCurrent(remote: HostContext, target: string): Promise<void> {
  // Capistrano's atomic swap: a new link, renamed over `current` (rename(2)); never a moment without it.
  // One command, so one round trip per host.
  const staging = `${releasesPath()}/${readDirectoryName(fetch, 'current_directory')}`
  const swap = chain([['ln', '-sfn', target, staging], ['mv', staging, `${deployPath()}/`]])
  // Not stopped by Ctrl-C half-way: a staging link left in releases/ would list as a release.
  await runWhileLockIsMine(remote, swap, { survivesInterrupt: true })
}

/**
 * Swaps `current` wave by wave; after each wave `deploy:verify` runs on that wave's hosts. If a
 * swap or the check fails, every host switched in this run goes back to where it was and later
 * waves never switch; a host that fails either within max_fail goes back alone.
 */
export async function publishInWaves(target: string, hosts: Host[]): Promise<void> {
  const waves = planWaves(hosts, readWaveSpec(fetch))
  const switched: Host[] = []
  // A swap that ran and failed changed nothing (the link is renamed over `current` last), nor did
  // one the lost lock refused: nothing to put back there. A lost connection may have come after it.
  const unswapped = new Set<string>()
  for (const [index, wave] of waves.entries()) {
    if (waves.length > 1) log(`wave ${index + 1}/${waves.length}: ${wave.map((host) => host.name).join(', ')}`)
    let step = 'switching current'
    try {
      // Ctrl-C during the last wave's check or switch-back: this wave never switches.
      checkInterrupted()
      const swaps = await on(wave, async (remote) => {
        // Counted as its swap starts: it may switch before another's failure stops the wave (a host
        // still waiting for a slot then never starts, and has nothing to go back from).
        switched.push(remote.host)
        try {
          await swapCurrent(remote, target)
        } catch (error) {
          // An exit status says the command ran to its failure; a killed one (no status) may have swapped.
          if ((error instanceof RemoteCommandError && error.code !== null) || error instanceof LockLostError) unswapped.add(remote.host.name)
          throw error
        }
      })
      // Whatever max_fail allows: another deploy owns those hosts now, as when deploy:lock finds its lock.
      const lost = [...swaps.failures.values()].find((failure) => failure instanceof LockLostError)
      if (lost) throw lost
      step = 'deploy:verify'
      await onlyHosts(wave, () => invoke('deploy:verify', { again: true }))
      // Ctrl-C between waves is a failed wave: what this run switched goes back.
      checkInterrupted()
      step = 'switching back the hosts that failed within max_fail'
      await restoreDropped(wave, unswapped)
    } catch (error) {
      const toRestore = switched.filter((host) => !unswapped.has(host.name))
      const stuck = new Set((await restorePrevious(toRestore)).map((host) => host.name))
      const restored = toRestore.filter((host) => !stuck.has(host.name))
      await afterSwitchingBack(restored)
      const never = waves.slice(index + 1).flat()
      if (restored.length > 0) log(`rolled back ${restored.map((h) => h.name).join(', ')} to their previous release`, 'warn')
      if (stuck.size > 0) log(`could not switch back ${[...stuck].join(', ')} (said above); current there is as the failure left it`, 'warn')
      if (never.length > 0) log(`never switched: ${never.map((h) => h.name).join(', ')}`, 'warn')
      if (error instanceof InterruptedError) throw error
      const where = waves.length > 1 ? ` in wave ${index + 1} of ${waves.length}` : ''
      const undone = stuck.size > 0 ? `${[...stuck].join(', ')} could not be switched back` : restored.length > 0 ? 'switched hosts were rolled back' : 'no host had switched'
      throw new DeployError(`${step} failed${where} (${(error as Error).message}); ${undone}.`, { exitCode: 1, cause: error })
    }
  }
}

/**
 * The wave's hosts that failed within max_fail: one whose swap failed keeps its `current`, one
 * whose check failed goes back alone. One whose lock another deploy took over meanwhile stops the
 * run, whatever max_fail allows.
 */
async function restoreDropped(wave: readonly Host[], unswapped: ReadonlySet<string>): Promise<void> {
  const kept = new Set(releaseRoles().map((host) => host.name))
  const dropped = wave.filter((host) => !kept.has(host.name))
  const [unchanged, switchedBack] = [dropped.filter((host) => unswapped.has(host.name)), dropped.filter((host) => !unswapped.has(host.name))]
  if (unchanged.length > 0) log(`${unchanged.map((h) => h.name).join(', ')}: swap failed within max_fail; current left as it was`, 'warn')
  if (switchedBack.length === 0) return
  log(`${switchedBack.map((h) => h.name).join(', ')}: failed within max_fail; switching back to the previous release`, 'warn')
  const stuck = await restorePrevious(switchedBack)
  const { lostLockHosts } = thisRun()
  const lost = stuck.filter((host) => lostLockHosts.has(host.name))
  if (lost.length > 0) throw new DeployError(`the deploy lock of ${lost.map((h) => h.name).join(', ')} is another deploy's now; this run stops`, { exitCode: 1 })
  if (stuck.length > 0) log(`could not switch back ${stuck.map((h) => h.name).join(', ')} (said above); current there is as the failure left it`, 'warn')
  // What deploy:verify did there (a restart into the new release) is undone as for a failed wave.
  await afterSwitchingBack(switchedBack.filter((host) => !stuck.includes(host)))
}

/**
 * deploy:switched_back, with roles() narrowed to the hosts put back, the one whose check failed
 * among them: what deploy:verify did there (a restart into the new release) is the user's to undo.
 * Its failure is said, not raised: the run's own failure (or max_fail's) is what to report.
 */
async function afterSwitchingBack(hosts: readonly Host[]): Promise<void> {
  if (hosts.length === 0) return
  try {
    const names = new Set(hosts.map((host) => host.name))
    await currentSession().hostScope.run({ names, withFailed: true }, () => invoke('deploy:switched_back', { again: true }))
  } catch (error) {
    log(`deploy:switched_back failed: ${(error as Error).message}`, 'warn')
  }
}

/**
 * Puts `current` back where it was before this run on each host; returns the hosts it could not
 * (each failure already said), among them those whose lock another deploy took over: not tried.
 */
async function restorePrevious(hosts: readonly Host[]): Promise<Host[]> {
  const { lostLockHosts } = thisRun()
  const outcome = await on(hosts.filter((host) => !lostLockHosts.has(host.name)), { onError: 'continue' }, async (remote) => {
    const previous = thisRun().previousCurrent.get(remote.host.name)
    if (previous === undefined) await runWhileLockIsMine(remote, chain([['rm', '-f', currentPath()]]))
    else await swapCurrent(remote, previous)
    log(`${remote.host.name}: current → ${previous ?? '(none)'}`)
  })
  return hosts.filter((host) => lostLockHosts.has(host.name) || outcome.failures.has(host.name))
}
