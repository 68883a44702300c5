// Real SSH through node-ssh: commands (on a host's command shell, or an exec channel each) and
// Ctrl-C's stop of whatever runs; connections are ssh-connections.ts's, SFTP transfers sftp-transfers.ts's.
import type { NodeSSH } from 'node-ssh'
import { ConnectionError, errorMessage } from '../errors.ts'
import type { Backend, ExecResult, OutputHandlers } from './backend.ts'
import { Interruptions, stoppedBeforeStart } from './command-interrupt.ts'
import { SftpTransfers } from './sftp-transfers.ts'
import { ShellNotStartedError, ShellSilentError, killTreeCommand, needsOwnShell, type CommandShell } from './command-shell.ts'
import type { Host } from '../inventory/host.ts'
import { SshConnections, type SshConnectionOptions } from './ssh-connections.ts'
import { channelRefused, isChannelRefusal, lostDuringCommand, signalChannel, startShell, type SignalChannel } from './ssh-channels.ts'

export interface SshBackendOptions extends SshConnectionOptions {
  /** Commands without stdin go through one long-lived shell per host (command-shell.ts). */
  isShellPersistent: boolean
  /** SFTP transfers under way at once across all hosts (transfer_concurrency); the rest wait their turn. */
  transferConcurrency: number
}

/** SFTP transfers at once unless transfer_concurrency says otherwise (parallel-scp runs 32). */
export const DEFAULT_TRANSFER_CONCURRENCY = 16

/** The run's Backend over SSH: every task's commands and transfers go through one connection per host; `close` ends them all. */
export class SshBackend implements Backend {
  private readonly connections: SshConnections
  /** Each connection's command shell; undefined: that host has none. Closing the connection ends it. */
  private readonly shells = new WeakMap<NodeSSH, Promise<CommandShell | undefined>>()
  /**
   * Connections that have run a command. A host's first command takes an exec channel and the shell
   * starts with its second: starting it costs the host a second start of the login shell, which a
   * run of one command per host (48 hosts: 3.9 s against 4.3-4.5 s) would not earn back.
   */
  private readonly hasRunCommand = new WeakSet<NodeSSH>()

  /** The run's Ctrl-C (or signal): what it may stop now of commands and transfers. */
  private readonly interruptions = new Interruptions()
  private readonly transfers: SftpTransfers

  constructor(private readonly options: SshBackendOptions) {
    this.connections = new SshConnections(options)
    this.transfers = new SftpTransfers(this.connections, this.interruptions, options.reporter, options.transferConcurrency)
  }

  async close(): Promise<void> {
    await this.connections.close()
  }

  async exec(host: Host, command: string, handlers: OutputHandlers): Promise<ExecResult> {
    // Before the connection: a command begun before Ctrl-C whose connection was still opening is stopped too.
    const interrupt = this.interruptions.forCommand(handlers.survivesInterrupt !== true)
    const ssh = await this.connections.get(host)
    handlers.onReached?.()
    const isFirst = !this.hasRunCommand.has(ssh)
    this.hasRunCommand.add(ssh)
    try {
      if (interrupt.hasMissedInterrupt()) return stoppedBeforeStart(this.interruptions.cause)
      if (!isFirst && !handlers.stdin && this.options.isShellPersistent && !needsOwnShell(command)) {
        const shell = await this.commandShell(host, ssh)
        if (interrupt.hasMissedInterrupt()) return stoppedBeforeStart(this.interruptions.cause)
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
        const lost = result.code === null ? this.connections.lostReason(host.name) : undefined
        if (lost !== undefined) throw new Error(lost)
        const text = (stream: 'stdout' | 'stderr') => Buffer.concat(output[stream]).toString('utf8').trim()
        return interrupt.explain({ code: result.code, stdout: text('stdout'), stderr: text('stderr') })
      } catch (error) {
        const lost = this.connections.lostReason(host.name)
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
    return this.interruptions.interrupt(cause)
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
    const lost = this.connections.lostReason(host.name)
    if (lost !== undefined) throw lostDuringCommand(host, lost)
    return result
  }

  upload(host: Host, source: string | Buffer, remotePath: string, mode?: number): Promise<void> {
    return this.transfers.upload(host, source, remotePath, mode)
  }

  download(host: Host, remotePath: string, localPath: string): Promise<void> {
    return this.transfers.download(host, remotePath, localPath)
  }
}
