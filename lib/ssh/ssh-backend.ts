import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { homedir, userInfo } from 'node:os'
import { basename, dirname, join, posix } from 'node:path'
import type { Readable } from 'node:stream'
import type { Config, NodeSSH } from 'node-ssh'
import pLimit, { type LimitFunction } from 'p-limit'
import { ConnectionError, DeployError, UsageError, errorMessage } from '../errors.ts'
import { sftpPath } from './remote-path.ts'
import type { Backend, ExecResult, OutputHandlers } from './backend.ts'
import { CommandInterrupt, stoppedBeforeStart } from './command-interrupt.ts'
import { CommandShell, SHELL_COMMAND, ShellNotStartedError, ShellSilentError, killTreeCommand, needsOwnShell, type ShellOptions, type ShellPipes } from './command-shell.ts'
import { parseHost, type Host } from '../inventory/host.ts'
import { hostKeyCheck, KnownHostsFiles } from './known-hosts.ts'
import type { SshConfigFile, SshTarget } from '../inventory/ssh-config.ts'
import type { Reporter } from '../report/events.ts'

export interface SshBackendOptions {
  sshConfig: SshConfigFile
  connectTimeoutMs: number
  reporter: Reporter
  /** Commands without stdin go through one long-lived shell per host (command-shell.ts). */
  isShellPersistent: boolean
  /** SFTP transfers under way at once across all hosts (transfer_concurrency); the rest wait their turn. */
  transferConcurrency: number
}

/** SFTP transfers at once unless transfer_concurrency says otherwise (parallel-scp runs 32). */
export const DEFAULT_TRANSFER_CONCURRENCY = 16

const KEEPALIVE_INTERVAL_MS = 5_000
/**
 * Unanswered keepalives before a connection counts as dead: 30 s of silence. The agent's upload
 * through a 32 kbit/s farm link heard nothing back for 12-14 s between SFTP acknowledgements, and
 * with 3 (20 s) one upload in two or three failed with "Keepalive timeout".
 */
const KEEPALIVE_COUNT_MAX = 5
/** ssh2's SFTP session (node-ssh's typings name it; ssh2 ships none here). */
type SFTPWrapper = Awaited<ReturnType<NodeSSH['requestSFTP']>>

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => join(homedir(), '.ssh', name))

/**
 * Real SSH through node-ssh. Contract: one connection per host, opened on first use and
 * shared by every task of the run; `close` ends them all.
 */
export class SshBackend implements Backend {
  private readonly connections = new Map<string, Promise<NodeSSH>>()
  /** Why a host's connection ended, for the commands it cut short. */
  private readonly lostReasons = new Map<string, string>()
  /** Each connection's command shell; undefined: that host has none. Closing the connection ends it. */
  private readonly shells = new WeakMap<NodeSSH, Promise<CommandShell | undefined>>()
  /**
   * Connections that have run a command. A host's first command takes an exec channel and the shell
   * starts with its second: starting it costs the host a second start of the login shell, which a
   * run of one command per host (48 hosts: 3.9 s against 4.3-4.5 s) would not earn back.
   */
  private readonly hasRunCommand = new WeakSet<NodeSSH>()

  /** Commands running now that the run's interruption stops: each sends SIGTERM to what its command runs. */
  private readonly interruptible = new Set<() => void>()
  /** How many times the run was interrupted: a command begun before it and armed after it is stopped at once. */
  private interruptions = 0
  /** What interrupted the run (`Ctrl-C`, `SIGTERM`, …), for the messages of what it stopped. */
  private interruptCause = 'Ctrl-C'

  /** Partial files of downloads under way: a second Ctrl-C ends the process at once, and they go with it. */
  private readonly partialDownloads = new Set<string>()
  /** One `exit` listener for them all (one per download would pass Node's limit of 10 listeners). */
  private readonly removePartialDownloads = () => {
    for (const path of this.partialDownloads) rmSync(path, { force: true })
  }

  /**
   * Transfers go through this machine's one link: more at once than fill it only share it thinner.
   * 48 uploads of the agent at once through a 1 Mbit/s link left two of them without a byte back
   * for 30 s (TCP's retransmission back-off under the losses), and their connections were dropped.
   */
  private readonly transferSlots: LimitFunction
  /** known_hosts, read once a run. */
  private readonly knownHosts = new KnownHostsFiles()

  constructor(private readonly options: SshBackendOptions) {
    this.transferSlots = pLimit(options.transferConcurrency)
  }

  async exec(host: Host, command: string, handlers: OutputHandlers): Promise<ExecResult> {
    // Before the connection: a command begun before Ctrl-C whose connection was still opening is stopped too.
    const interrupt = new CommandInterrupt(handlers.survivesInterrupt !== true, this.interruptible, () => this.interruptions, () => this.interruptCause)
    const ssh = await this.connection(host)
    handlers.onReached?.()
    const isFirst = !this.hasRunCommand.has(ssh)
    this.hasRunCommand.add(ssh)
    try {
      if (interrupt.hasMissedInterrupt()) return stoppedBeforeStart(this.interruptCause)
      if (!isFirst && !handlers.stdin && this.options.isShellPersistent && !needsOwnShell(command)) {
        const shell = await this.commandShell(host, ssh)
        if (interrupt.hasMissedInterrupt()) return stoppedBeforeStart(this.interruptCause)
        // Claimed in this same turn: a command started meanwhile would have made it busy.
        if (shell?.isIdle) interrupt.arm(() => void this.stopShellCommand(ssh, shell))
        const result = shell?.isIdle ? await this.runInShell(host, shell, command, handlers) : undefined
        if (result) return interrupt.explain(result)
      }
      try {
        // Decoded once whole, as the command shell does: node-ssh decodes chunk by chunk, and a
        // character split across two SSH packets would come out as two U+FFFD.
        const output: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] }
        const result = await ssh.execCommand(command, {
          onStdout: (chunk) => {
            output.stdout.push(chunk)
            handlers.onStdout?.(chunk)
          },
          onStderr: (chunk) => {
            output.stderr.push(chunk)
            handlers.onStderr?.(chunk)
          },
          ...(handlers.stdin ? { stdin: handlers.stdin } : {}),
          onChannel: (channel) => interrupt.arm(() => signalChannel(channel as unknown as SignalChannel, 'TERM')),
        })
        const lost = result.code === null ? this.lostReasons.get(host.name) : undefined
        if (lost !== undefined) throw new Error(lost)
        const text = (stream: 'stdout' | 'stderr') => Buffer.concat(output[stream]).toString('utf8').trim()
        return interrupt.explain({ code: result.code, stdout: text('stdout'), stderr: text('stderr') })
      } catch (error) {
        const lost = this.lostReasons.get(host.name)
        // The connection is fine; sshd only refused one more session on it: the command never ran.
        if (lost === undefined && isChannelRefusal(error)) throw channelRefused(host, error, 'the command')
        throw lostDuringCommand(host, lost ?? errorMessage(error), error)
      }
    } finally {
      interrupt.disarm()
    }
  }

  /**
   * Ctrl-C during a command in the shell: what it runs is stopped from another channel. The shell
   * takes no frame after this one (it exits after it; later commands take exec channels), so a kill
   * that lands late cannot reach another command; one whose start marker is still on its way is
   * waited for.
   */
  private async stopShellCommand(ssh: NodeSSH, shell: CommandShell): Promise<void> {
    shell.close()
    const deadline = Date.now() + this.options.connectTimeoutMs
    while (shell.isAboutToRunCommand && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    const pid = shell.pid
    if (pid === undefined || !shell.isRunningCommand) return
    await ssh.execCommand(killTreeCommand(pid)).catch(() => undefined)
  }

  interruptCommands(cause: string): number {
    this.interruptions++
    this.interruptCause = cause
    const running = [...this.interruptible]
    this.interruptible.clear()
    for (const stop of running) stop()
    return running.length
  }

  private commandShell(host: Host, ssh: NodeSSH): Promise<CommandShell | undefined> {
    const known = this.shells.get(ssh)
    if (known) return known
    const onRetire = (reason: string) => {
      this.options.reporter.emit({ type: 'message', level: 'warn', host: host.name, text: `later commands take an SSH channel each: ${reason}` })
    }
    const shell = startShell(ssh, { timeoutMs: this.options.connectTimeoutMs, onRetire }).catch(() => undefined)
    this.shells.set(ssh, shell)
    return shell
  }

  /** Undefined: the shell closed before it ran the command, which may take an exec channel. */
  private async runInShell(host: Host, shell: CommandShell, command: string, handlers: OutputHandlers): Promise<ExecResult | undefined> {
    let result: ExecResult
    try {
      result = await shell.run(command, handlers)
    } catch (error) {
      if (error instanceof ShellNotStartedError) return undefined
      if (!(error instanceof ShellSilentError)) throw error
      const seconds = this.options.connectTimeoutMs / 1000
      const fix = 'raise ssh_connect_timeout, or set ssh_persistent_shell=false if its login shell is not a POSIX shell'
      throw new ConnectionError(host.name, `its command shell gave no sign of life within ${seconds} s; ${fix}`, error)
    }
    if (result.code !== null || !shell.hasClosed) return result
    // The shell went away mid-command: with its connection (which closes its channels before it
    // reports why), or alone, killed on the host, which fails only this command, as on an exec channel.
    await new Promise((resolve) => setImmediate(resolve))
    const lost = this.lostReasons.get(host.name)
    if (lost !== undefined) throw lostDuringCommand(host, lost)
    return result
  }

  async upload(host: Host, source: string | Buffer, remotePath: string, mode?: number): Promise<void> {
    if (typeof source === 'string') checkLocalFile(host, source)
    const path = sftpPath(remotePath)
    const advice = typeof source === 'string' ? 'name the file in it, or end the path with / to upload under the local name' : 'name the file in it'
    await this.transfer(host, `upload to ${remotePath}`, () => 'the remote file is incomplete', async (ssh, sftp) => {
      const put = async () => {
        // node-ssh's putFile makes a missing directory and tries again: a buffer's upload does the same.
        if (typeof source === 'string') {
          // A new file gets the local file's permission bits (an uploaded script stays executable,
          // as with Fabric's put); a file it replaces keeps its own (a 0640 secret stays so), as a download does.
          // A mode given is set on the open file before its first byte (ssh2's fastPut fchmods it).
          if (mode !== undefined) return ssh.putFile(source, path, sftp, { concurrency: 16, mode })
          const isNew = await new Promise<boolean>((resolve) => sftp.stat(path, (error: Error | null | undefined) => resolve(error !== null && error !== undefined)))
          await ssh.putFile(source, path, sftp, { concurrency: 16 })
          if (!isNew) return
          const localMode = statSync(source).mode & 0o777
          return new Promise<void>((resolve) => sftp.chmod(path, localMode, (error: Error | null | undefined) => {
            if (error) this.options.reporter.emit({ type: 'message', level: 'warn', host: host.name, text: `upload to ${remotePath}: its mode could not be set to ${localMode.toString(8)} (${error.message})` })
            resolve()
          }))
        }
        const write = () =>
          new Promise<void>((resolve, reject) => {
            const done = (error: Error | null | undefined) => (error ? reject(error) : resolve())
            if (mode === undefined) return sftp.writeFile(path, source, done)
            // Created with the mode; one replaced gets it before its bytes change.
            sftp.chmod(path, mode, () => sftp.writeFile(path, source, { mode }, done))
          })
        try {
          await write()
        } catch (error) {
          if (errorMessage(error) !== 'No such file') throw error
          await ssh.mkdir(posix.dirname(path), 'sftp', sftp)
          await write()
        }
      }
      await explainDirectory(sftp, path, remotePath, put, advice)
    })
  }

  async download(host: Host, remotePath: string, localPath: string): Promise<void> {
    // Written beside the file (a link's target) under a name of its own (hosts may download to one
    // path at once) and renamed over it once whole: a failed or stopped download leaves it as it was.
    const target = existsSync(localPath) ? realpathSync(localPath) : localPath
    // As an upload makes its remote directory: `download(…, 'logs/')` into a logs/ not made yet.
    try {
      mkdirSync(dirname(target), { recursive: true })
    } catch (error) {
      throw new DeployError(`${host.name}: download of ${remotePath}: cannot make the local directory ${dirname(target)}: ${errorMessage(error)}`, { exitCode: 1, cause: error })
    }
    const partial = join(dirname(target), `.${basename(target)}.${randomUUID().slice(0, 8)}.part`)
    const removePartial = () => rmSync(partial, { force: true })
    if (this.partialDownloads.size === 0) process.once('exit', this.removePartialDownloads)
    this.partialDownloads.add(partial)
    try {
      const afterStop = () => {
        removePartial()
        return `${localPath} was left as it was`
      }
      await this.transfer(host, `download of ${remotePath}`, afterStop, (ssh, sftp) =>
        explainDirectory(sftp, sftpPath(remotePath), remotePath, () => ssh.getFile(partial, sftpPath(remotePath), sftp, { concurrency: 16 }), 'download takes one file (pack a directory with tar first)')
      )
      try {
        keepMode(target, partial)
        renameSync(partial, target)
      } catch (error) {
        throw new DeployError(`${host.name}: download of ${remotePath}: cannot put it at ${localPath}: ${errorMessage(error)}`, { exitCode: 1, cause: error })
      }
    } finally {
      removePartial()
      this.partialDownloads.delete(partial)
      if (this.partialDownloads.size === 0) process.removeListener('exit', this.removePartialDownloads)
    }
  }

  /**
   * One SFTP transfer on its own SFTP channel, which the first Ctrl-C closes: the transfer then
   * fails at once, saying what it left (`afterStop` tidies up and says so), instead of running to its end.
   */
  private async transfer(host: Host, what: string, afterStop: () => string, run: (ssh: NodeSSH, sftp: SFTPWrapper) => Promise<void>): Promise<void> {
    const interrupt = new CommandInterrupt(true, this.interruptible, () => this.interruptions, () => this.interruptCause)
    // Made once: thrown in the transfer, it comes through the catch again (and `afterStop` tidies once).
    let stoppedError: DeployError | undefined
    const stopped = () => (stoppedError ??= new DeployError(`${host.name}: ${what} stopped by ${this.interruptCause}; ${afterStop()}`, { exitCode: 1 }))
    let sftp: SFTPWrapper | undefined
    try {
      const ssh = await this.connection(host)
      await this.transferSlots(async () => {
        if (interrupt.hasMissedInterrupt()) throw stopped()
        await this.unlessLost(host, ssh, async () => {
          const channel = await ssh.requestSFTP()
          sftp = channel
          interrupt.arm(() => channel.end())
          if (interrupt.hasStopped) throw stopped()
          await run(ssh, channel)
        })
      })
    } catch (error) {
      if (interrupt.hasStopped) throw stopped()
      if (error instanceof DeployError) throw error
      if (sftp === undefined && isChannelRefusal(error)) throw channelRefused(host, error, what)
      throw new ConnectionError(host.name, `${what} failed: ${errorMessage(error)}`, error)
    } finally {
      interrupt.disarm()
      sftp?.end()
    }
  }

  /**
   * Runs an SFTP transfer, failing it if the connection closes first: ssh2 never calls back a
   * transfer whose connection died, and the run would wait for it forever.
   */
  private async unlessLost(host: Host, ssh: NodeSSH, transfer: () => Promise<void>): Promise<void> {
    const connection = ssh.connection
    if (!connection) throw new Error(this.lostReasons.get(host.name) ?? 'not connected')
    let onClose = () => {}
    // One listener per transfer under way: many at once on one host are expected, not a leak.
    connection.setMaxListeners(connection.getMaxListeners() + 1)
    const lost = new Promise<never>((_, reject) => {
      onClose = () => reject(new Error(this.lostReasons.get(host.name) ?? 'connection closed'))
      connection.once('close', onClose)
    })
    try {
      await Promise.race([transfer(), lost])
    } finally {
      connection.removeListener('close', onClose)
      connection.setMaxListeners(connection.getMaxListeners() - 1)
    }
  }

  async close(): Promise<void> {
    const pending = [...this.connections.values()]
    this.connections.clear()
    await Promise.allSettled(pending.map(async (connection) => (await connection).dispose()))
  }

  /** @param via - the hosts whose ProxyJump leads here, nearest last (a loop among them is refused) */
  private connection(host: Host, via: readonly string[] = []): Promise<NodeSSH> {
    let connection = this.connections.get(host.name)
    if (!connection) {
      connection = this.connect(host, via)
      this.connections.set(host.name, connection)
    }
    return connection
  }

  private async connect(host: Host, via: readonly string[]): Promise<NodeSSH> {
    const target = this.options.sshConfig.resolve(host, userInfo().username)
    this.options.reporter.emit({ type: 'connect', host: host.name, target: `${target.user}@${target.hostname}:${target.port}` })
    // A route ssh would take and murder would not: refused, not replaced by a direct connection.
    if (target.proxyCommand !== undefined) {
      throw new ConnectionError(host.name, `ssh_config gives it a ProxyCommand (${target.proxyCommand}), which murder does not run; use ProxyJump (one hop) instead`)
    }
    if (target.proxyJump?.includes(',')) {
      // Each hop is reached through its own ProxyJump, so a chain is written one hop per Host block.
      const hops = target.proxyJump.split(',')
      const [last = '', previous = ''] = [hops.at(-1), hops.at(-2)]
      throw new ConnectionError(host.name, `ssh_config gives it ProxyJump ${target.proxyJump}: murder takes one hop per Host block; write ProxyJump ${last} for it, and ProxyJump ${previous} in ${last}'s block`)
    }
    const config = this.connectConfig(target)
    const hostKey = hostKeyCheck(this.knownHosts, target, (text, level) => this.options.reporter.emit({ type: 'message', level, host: host.name, text }))
    config.hostVerifier = hostKey.verify
    if (hostKey.algorithms) config.algorithms = { ...config.algorithms, serverHostKey: hostKey.algorithms }
    if (target.proxyJump !== undefined) config.sock = await this.jump(host, target, via)
    // Loaded on the first connection: -T, --dry-run and -V never pay for ssh2 (about 90 ms).
    const { NodeSSH } = await import('node-ssh')
    const ssh = new NodeSSH()
    try {
      const connecting = ssh.connect(config)
      // ssh2 leaves Nagle's algorithm on, so a small packet sent while the previous one is
      // unacknowledged waits for the server's delayed ACK (40 ms): once per handshake, and once
      // per command (channel open, exec). OpenSSH sets it for interactive sessions.
      ssh.connection?.once('connect', () => ssh.connection?.setNoDelay(true))
      await connecting
    } catch (error) {
      throw new ConnectionError(host.name, hostKey.refusal() ?? describeConnectError(target, error), error)
    }
    // A connection that dies later (keepalive timeout, reset) ends its commands; without a listener
    // ssh2's 'error' would crash the whole run. The next use of the host connects again.
    const forget = (reason: string) => {
      this.lostReasons.set(host.name, reason)
      if (this.connections.get(host.name) === pending) this.connections.delete(host.name)
    }
    const pending = this.connections.get(host.name)
    if (ssh.connection) countKeepalivesOnlyWhenSilent(ssh.connection)
    ssh.connection?.on('error', (error: Error) => forget(error.message))
    ssh.connection?.on('close', () => forget(this.lostReasons.get(host.name) ?? 'connection closed'))
    this.lostReasons.delete(host.name)
    return ssh
  }

  private connectConfig(target: SshTarget): Config {
    const keyFiles = target.identityFiles.length > 0 ? target.identityFiles : DEFAULT_IDENTITIES.filter((file) => existsSync(file))
    const keys = keyFiles.map((file) => {
      try {
        return readFileSync(file, 'utf8')
      } catch (error) {
        throw new ConnectionError(target.name, `cannot read IdentityFile ${file}: ${errorMessage(error)}`)
      }
    })
    const agent = process.env['SSH_AUTH_SOCK']
    const username = target.user
    return {
      host: target.hostname,
      port: target.port,
      username,
      readyTimeout: this.options.connectTimeoutMs,
      // A host that vanishes mid-command (cable, kernel panic) fails within ~30 s instead of hanging
      // the run: a command that prints nothing for minutes still gets sshd's keepalive replies.
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      // Try the agent, then each identity file, like ssh does.
      authHandler: [
        ...(agent ? [{ type: 'agent' as const, username, agent }] : []),
        ...keys.map((key) => ({ type: 'publickey' as const, username, key })),
      ],
    }
  }

  // ProxyJump: one hop, through a pooled connection to the jump host.
  private async jump(host: Host, target: SshTarget, before: readonly string[]): Promise<NonNullable<Config['sock']>> {
    const jump = parseHost(target.proxyJump ?? '')
    const chain = [...before, host.name]
    if (chain.includes(jump.name)) throw new ConnectionError(host.name, `ProxyJump goes round in a loop (${[...chain, jump.name].join(' → ')}); fix ssh_config`)
    const via = await this.connection({ ...jump, hostname: jump.name, user: jump.user, port: jump.port, roles: new Set(), properties: {} }, chain)
    try {
      return await via.forwardOut('127.0.0.1', 0, target.hostname, target.port)
    } catch (error) {
      const where = `${target.hostname}:${target.port}`
      throw new ConnectionError(host.name, `ProxyJump through ${jump.name} to ${where} failed: ${errorMessage(error)}`, error)
    }
  }
}

/** The parts of ssh2's channel that send its `signal` request (RFC 4254 6.9). */
interface SignalChannel {
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
function signalChannel(channel: SignalChannel, name: string): void {
  if (channel.writable) {
    channel.signal(name)
    return
  }
  const protocol = channel._client?._protocol
  const state = channel.outgoing?.state
  if (channel.outgoing && (state === 'open' || state === 'eof') && typeof protocol?.signal === 'function') protocol.signal(channel.outgoing.id, name)
}

function isChannelRefusal(error: unknown): boolean {
  return /Channel open failure/i.test(errorMessage(error))
}

/** sshd refused one more session on a connection that is fine: `what` (a command, an upload) never started. */
function channelRefused(host: Host, cause: unknown, what: string): ConnectionError {
  return new ConnectionError(
    host.name,
    `sshd refused a channel for ${what}, which did not start (${errorMessage(cause).replace(/^\(SSH\) /, '')}): too many commands or transfers at once on this host for its MaxSessions (10 by default); run fewer at once in one on() block`,
    cause
  )
}

function lostDuringCommand(host: Host, why: string, cause?: unknown): ConnectionError {
  return new ConnectionError(host.name, `lost the connection while running a command: ${why}`, cause)
}

/**
 * Opens the host's command shell on an exec channel of its connection; a command may be given to it
 * at once. Rejects if no channel opens in time (no session left): the host's commands then each
 * take an exec channel, as a command does when the shell closes before starting it (a login shell
 * that is not a POSIX shell, a ForceCommand that refuses it).
 */
async function startShell(ssh: NodeSSH, options: ShellOptions): Promise<CommandShell> {
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

/** How often inbound bytes may restart ssh2's keepalive count (it re-arms a timer each time). */
const KEEPALIVE_RESET_INTERVAL_MS = 1000

/**
 * OpenSSH (ServerAliveInterval) sends a keepalive only after hearing nothing from the server, so a
 * busy connection never times out. ssh2 counts every keepalive whose reply is still on its way, and
 * a reply queued behind a large upload on a busy link arrives late: 48 uploads of the agent through
 * one 25 Mbit/s link lost 9 live connections mid-upload ("Keepalive timeout"). Inbound bytes now
 * restart ssh2's count, as in OpenSSH. ssh2 1.x keeps the socket and the restart in private fields;
 * without them its own behaviour stays.
 */
export function countKeepalivesOnlyWhenSilent(client: NonNullable<NodeSSH['connection']>): void {
  const internals = client as unknown as { _sock?: Readable; _resetKA?: () => void }
  const socket = internals._sock
  if (!socket || typeof internals._resetKA !== 'function') return
  let lastResetMs = 0
  socket.on('data', () => {
    const now = Date.now()
    if (now - lastResetMs < KEEPALIVE_RESET_INTERVAL_MS) return
    lastResetMs = now
    internals._resetKA?.()
  })
}

function describeConnectError(target: SshTarget, error: unknown): string {
  const where = `${target.user}@${target.hostname}:${target.port}`
  const code = (error as NodeJS.ErrnoException).code
  const message = errorMessage(error)
  if (code === 'ECONNREFUSED') return `connection refused at ${where}; is sshd running there?`
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `host unreachable at ${where}; check the address and network`
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve ${target.hostname}; check the host name or ssh_config HostName`
  if (/timed out/i.test(message)) return `timed out connecting to ${where}; check the address, firewall, or raise ssh_connect_timeout`
  if (/authentication methods failed/i.test(message)) {
    return `authentication refused for ${where}; check the user, IdentityFile and the host's authorized_keys`
  }
  return `cannot connect to ${where}: ${message}`
}

/**
 * SFTP answers a transfer to or from a directory with a bare "Failure": on such a failure, says
 * that the remote path (`shown` as the user wrote it) is a directory and what to do (one stat, only then).
 */
async function explainDirectory(sftp: SFTPWrapper, path: string, shown: string, transfer: () => Promise<void>, advice: string): Promise<void> {
  try {
    await transfer()
  } catch (error) {
    if (errorMessage(error) !== 'Failure') throw error
    const isDirectory = await new Promise<boolean>((resolve) => sftp.stat(path, (statError: Error | undefined, stats: { isDirectory(): boolean }) => resolve(!statError && stats.isDirectory())))
    if (isDirectory) throw new Error(`${shown} is a directory on the host; ${advice}`)
    throw error
  }
}

/** An upload's local file must be a file: a directory or a missing path says so before any transfer. */
function checkLocalFile(host: Host, path: string): void {
  const stats = statSync(path, { throwIfNoEntry: false })
  if (stats === undefined) throw new UsageError(`${host.name}: upload: no local file ${path} (relative paths are from the project root, ${process.cwd()})`)
  if (stats.isDirectory()) throw new UsageError(`${host.name}: upload: ${path} is a directory; upload takes one file (pack a directory with tar first)`)
}

/** A downloaded file replacing one keeps its permissions (ssh2 creates it 0666 less the umask). */
function keepMode(existing: string, replacement: string): void {
  const stats = statSync(existing, { throwIfNoEntry: false })
  if (stats?.isFile()) chmodSync(replacement, stats.mode & 0o7777)
}
