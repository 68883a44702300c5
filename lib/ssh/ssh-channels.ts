// ssh2's channels as the backend uses them: a command's signal, a channel sshd refused, a connection
// lost mid-command, and the exec channel a host's command shell runs on.
import type { NodeSSH } from 'node-ssh'
import { ConnectionError, errorMessage } from '../errors.ts'
import type { Host } from '../inventory/host.ts'
import { CommandShell, SHELL_COMMAND, type ShellOptions, type ShellPipes } from './command-shell.ts'

/** The parts of ssh2's channel that send its `signal` request (RFC 4254 6.9). */
export interface SignalChannel {
  signal(name: string): unknown
  writable: boolean
  outgoing?: { id: number; state: string }
  _client?: { _protocol?: { signal?: (id: number, name: string) => void } }
}

/**
 * ssh2's `signal()` sends nothing once the channel's stdin has ended (state `eof`), and a command
 * without stdin has had its EOF at once; the request is valid after EOF (the channel is open until
 * the command ends), so it then goes through ssh2's protocol object.
 */
export function signalChannel(channel: SignalChannel, name: string): void {
  if (channel.writable) {
    channel.signal(name)
    return
  }
  const protocol = channel._client?._protocol
  const state = channel.outgoing?.state
  if (channel.outgoing && (state === 'open' || state === 'eof') && typeof protocol?.signal === 'function') protocol.signal(channel.outgoing.id, name)
}

export function isChannelRefusal(error: unknown): boolean {
  return /Channel open failure/i.test(errorMessage(error))
}

/** sshd refused one more session on a connection that is fine: `what` (a command, an upload) never started. */
export function channelRefused(host: Host, cause: unknown, what: string): ConnectionError {
  return new ConnectionError(
    host.name,
    `sshd refused a channel for ${what}, which did not start (${errorMessage(cause).replace(/^\(SSH\) /, '')}): too many commands or transfers at once on this host for its MaxSessions (10 by default); run fewer at once in one on() block`,
    cause
  )
}

export function lostDuringCommand(host: Host, why: string, cause?: unknown): ConnectionError {
  return new ConnectionError(host.name, `lost the connection while running a command: ${why}`, cause)
}

/**
 * Opens the host's command shell on an exec channel of its connection; a command may be given to it
 * at once. Rejects if no channel opens in time (no session left): the host's commands then each
 * take an exec channel, as a command does when the shell closes before starting it (a login shell
 * that is not a POSIX shell, a ForceCommand that refuses it).
 */
export async function startShell(ssh: NodeSSH, options: ShellOptions): Promise<CommandShell> {
  const { timeoutMs } = options
  const client = ssh.connection as unknown as ExecClient | null
  if (!client) throw new Error('not connected')
  const deadline = Date.now() + timeoutMs
  let isLate = false
  const opening = new Promise<ExecChannel>((resolve, reject) =>
    client.exec(SHELL_COMMAND, (error, opened) => {
      if (error) return reject(error)
      if (isLate) opened.close()
      resolve(opened)
    })
  )
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      isLate = true
      reject(new Error(`no session channel within ${timeoutMs} ms`))
    }, timeoutMs)
    // A command waiting on this keeps the connection, and so the process, alive; the run's end must not wait.
    timer.unref()
  })
  const channel = await Promise.race([opening, late]).finally(() => clearTimeout(timer))
  // A write to a shell that has just exited: its exit fails the command instead.
  channel.on('error', () => {})
  const pipes: ShellPipes = {
    write: (text) => channel.write(text),
    end: () => channel.end(),
    destroy: () => channel.close(),
    onStdout: (listener) => channel.on('data', listener),
    onStderr: (listener) => channel.stderr.on('data', listener),
    // The close, or soon after the exit status: sshd sends that once the shell exits, before the
    // output still in its pipes, and a background process may hold the channel open long after.
    onClose: (listener) => {
      channel.once('close', listener)
      channel.once('exit', () => setTimeout(listener, EXIT_GRACE_MS).unref())
    },
  }
  return new CommandShell(pipes, { ...options, timeoutMs: Math.max(1, deadline - Date.now()) })
}

/** How long the output of a command shell that has exited may still take to come. */
const EXIT_GRACE_MS = 500

/** The part of ssh2's Client and exec channel the command shell uses. */
interface ExecClient {
  exec(command: string, callback: (error: Error | undefined, channel: ExecChannel) => void): unknown
}
interface ExecChannel {
  write(text: string): unknown
  end(): unknown
  on(event: 'data', listener: (chunk: Buffer) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  once(event: 'close' | 'exit', listener: () => void): unknown
  close(): unknown
  stderr: { on(event: 'data', listener: (chunk: Buffer) => void): unknown }
}
