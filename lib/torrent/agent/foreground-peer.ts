// `peer --hold` with no daemon of its tag running: the command is the peer daemon itself
// (foreground-daemon.ts) instead of starting one detached and following it. That saves a Node
// process per host (its start-up and its follower, about 0.2 CPU-seconds) and the daemon's launch
// before the first byte. Once `done` it waits for the controller's `stop`.
import type { AgentEvent } from '../protocol.ts'
import { runForegroundDaemon } from './foreground-daemon.ts'
import { checkTorrent, daemonArguments, matchingDaemon, runPeer, runPeerDaemon, withoutStalePeer, type PeerOptions } from './peer.ts'
import { readPidFile, removePidFile } from './processes.ts'

/** Runs `peer --hold`; resolves with the exit code once the command is over. */
export async function runHeldPeer(options: PeerOptions, print: (event: AgentEvent) => void): Promise<number> {
  const meta = await checkTorrent(options)
  const existing = await withoutStalePeer(await readPidFile(options.state, 'peer', options.tag), meta.infoHash)
  // A daemon of this transfer already runs (a re-run while the last run's peer seeds on, or `peer
  // --detach` first): follow it as before. Its counters are its own since it started: said so.
  if (matchingDaemon(existing, options)) {
    await runPeer(options, (event) => print(event.type === 'started' ? { ...event, wasRunning: true } : event), true, true)
    return 0
  }
  if (existing) await removePidFile(existing.path, existing.record?.pid)
  return runForegroundDaemon(
    {
      state: options.state,
      kind: 'peer',
      tag: options.tag,
      daemonArgs: daemonArguments(options),
      infoHash: meta.infoHash,
      readyOn: 'done',
      isTransfer: true,
      body: (runtime) => runPeerDaemon(runtime, options),
      removeOnStop: [options.payload, options.torrent],
      payload: options.payload,
      // The peer daemon's own events start with progress: `started` is its command's to say.
      onClaimed: (record) => ({ type: 'started', kind: 'peer', pid: record.pid, tag: options.tag }),
    },
    print
  )
}
