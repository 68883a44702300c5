// An agent command held open on a host (`peer --hold`, `seed --hold`, `tracker --hold`): the command
// is the daemon, says when it is ready, and ends it when told `stop` on its stdin (the agent's
// foreground-daemon.ts). The controller has a host's release unpacked and ends a deploy's swarm by
// writing lines to commands it already has open, instead of starting processes on every host.
import { PassThrough } from 'node:stream'
import { setTimeout as wait } from 'node:timers/promises'
import type { HostContext } from '../ssh/host-context.ts'
import { runAgent, type AgentLine, type AgentLocation } from './agent-client.ts'

/** A held command asked to stop: its daemon's shutdown (at most 4 s; a peer following a daemon: its grace of 5 s and kill wait of 2 s), then its files removed. */
const HELD_STOP_MS = 10_000

/** A command still open once its daemon is ready. */
export interface HeldCommand {
  /**
   * Writes a request line to it and resolves with its first answer of these types; undefined if it
   * was no longer open (ended, told to stop or let go), so nothing was asked. Rejects if it ends
   * before answering.
   */
  ask: (line: string, answerTypes: readonly string[]) => Promise<AgentLine | undefined>
  /** Still running, and neither told to stop nor let go. */
  isOpen: () => boolean
  /** Asks it to stop its daemon and remove its files; false if it could not say it did, and a `stop` command must. */
  stop: () => Promise<boolean>
  /** Lets it go without a stop: its daemon runs on as a detached one would (a peer seeds on for peer_seed_seconds). */
  release: () => void
}

export interface HeldAgentCommand {
  /** True once the ready event came; false if the command ended without it; rejects with the command's failure. */
  ready: Promise<boolean>
  /** The command ended, with its outcome. */
  ended: Promise<void>
  hasEnded: () => boolean
  held: HeldCommand
}

export interface HoldOptions {
  /** The event that says the daemon is ready: a peer's `done`, a seeder's or tracker's `started`. */
  readyOn: string
  /** Written to stdin first (the torrent of `--torrent-from-stdin`). */
  stdinFirst?: Buffer | undefined
  /** A seeder or peer that is its own daemon (agent-client's `isTransfer`). */
  isTransfer?: boolean
  onEvent?: (event: AgentLine) => void
  /** The command ended once ready but before it was told to stop or let go (its daemon died), with its failure if it had one. */
  onLost?: (failure: unknown) => void
  /** Under --dry-run nothing runs: a stop then counts as done. */
  isDryRun: boolean
}

/** Runs the held command; `args` must include its `hold: true`. */
export function holdAgentCommand(
  remote: HostContext,
  location: AgentLocation,
  subcommand: string,
  args: Record<string, string | number | boolean | undefined>,
  options: HoldOptions
): HeldAgentCommand {
  let markReady = () => {}
  const readyEvent = new Promise<void>((resolve) => (markReady = resolve))
  let hasRemoved = false
  let awaited: { types: readonly string[]; answer: (event: AgentLine) => void } | undefined
  const stdin = new PassThrough()
  if (options.stdinFirst) stdin.write(options.stdinFirst)
  const onEvent = (event: AgentLine) => {
    options.onEvent?.(event)
    if (event.type === options.readyOn) markReady()
    if (event.type === 'stopped') hasRemoved = Array.isArray(event['removed'])
    if (awaited?.types.includes(event.type)) awaited.answer(event)
  }
  const ended = runAgent(remote, location, subcommand, args, { onEvent, stdin, isTransfer: options.isTransfer ?? false, outlivesBlock: true }).then(() => undefined)
  let isOver = false
  let isLetGo = false
  let isReady = false
  const markOver = (failure?: unknown) => {
    isOver = true
    if (isReady && !isLetGo) options.onLost?.(failure)
  }
  ended.then(() => markOver(), markOver)
  const ready = Promise.race([readyEvent.then(() => (isReady = true)), ended.then(() => false)])
  // Once: asked again (an interrupted swarm's stop, then the swarm's end), it does not wait again.
  let stopping: Promise<boolean> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      if (!isLetGo) stdin.end('stop\n')
      isLetGo = true
      await Promise.race([ended.catch(() => {}), wait(HELD_STOP_MS, undefined, { ref: false })])
      return hasRemoved || options.isDryRun
    })())
  const release = () => {
    if (!isLetGo) stdin.end()
    isLetGo = true
  }
  const isOpen = () => !isOver && !isLetGo
  const ask = async (line: string, answerTypes: readonly string[]) => {
    if (!isOpen() || options.isDryRun) return undefined
    // Answers are told apart by type only: one request at a time.
    if (awaited) throw new Error(`${subcommand} --hold: a request is already waiting for its answer`)
    const answered = new Promise<AgentLine>((resolve) => {
      awaited = { types: answerTypes, answer: resolve }
    })
    stdin.write(`${line}\n`)
    const unanswered = ended.then(
      () => Promise.reject(new Error(`its ${subcommand} --hold command ended before it answered`)),
      (failure: unknown) => Promise.reject(failure instanceof Error ? failure : new Error(String(failure)))
    )
    unanswered.catch(() => {}) // it loses the race whenever the answer comes
    try {
      return await Promise.race([answered, unanswered])
    } finally {
      awaited = undefined
    }
  }
  return { ready, ended, hasEnded: () => isOver, held: { ask, isOpen, stop, release } }
}
