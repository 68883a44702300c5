import { existsSync, readFileSync } from 'node:fs'
import { homedir, userInfo } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import type { Config, NodeSSH } from 'node-ssh'
import { ConnectionError, errorMessage } from '../errors.ts'
import type { Backend, ExecResult, OutputHandlers } from './backend.ts'
import { parseHost, type Host } from '../inventory/host.ts'
import type { SshConfigFile, SshTarget } from '../inventory/ssh-config.ts'
import type { Reporter } from '../report/events.ts'

export interface SshBackendOptions {
  sshConfig: SshConfigFile
  connectTimeoutMs: number
  reporter: Reporter
}

const KEEPALIVE_INTERVAL_MS = 5_000
const KEEPALIVE_COUNT_MAX = 3
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => join(homedir(), '.ssh', name))

/**
 * Real SSH through node-ssh. Contract: one connection per host, opened on first use and
 * shared by every task of the run; `close` ends them all.
 */
export class SshBackend implements Backend {
  private readonly connections = new Map<string, Promise<NodeSSH>>()
  /** Why a host's connection ended, for the commands it cut short. */
  private readonly lostReasons = new Map<string, string>()

  constructor(private readonly options: SshBackendOptions) {}

  async exec(host: Host, command: string, handlers: OutputHandlers): Promise<ExecResult> {
    const ssh = await this.connection(host)
    try {
      const result = await ssh.execCommand(command, {
        onStdout: handlers.onStdout,
        onStderr: handlers.onStderr,
        ...(handlers.stdin ? { stdin: handlers.stdin } : {}),
      })
      const lost = result.code === null ? this.lostReasons.get(host.name) : undefined
      if (lost !== undefined) throw new Error(lost)
      return { code: result.code, stdout: result.stdout, stderr: result.stderr }
    } catch (error) {
      throw new ConnectionError(host.name, `lost the connection while running a command: ${errorMessage(error)}`, error)
    }
  }

  async upload(host: Host, source: string | Buffer, remotePath: string): Promise<void> {
    const ssh = await this.connection(host)
    try {
      await this.unlessLost(host, ssh, async () => {
        if (typeof source === 'string') return ssh.putFile(source, remotePath, null, { concurrency: 16 })
        const sftp = await ssh.requestSFTP()
        try {
          await new Promise<void>((resolve, reject) =>
            sftp.writeFile(remotePath, source, (error: Error | null | undefined) => (error ? reject(error) : resolve()))
          )
        } finally {
          sftp.end()
        }
      })
    } catch (error) {
      throw new ConnectionError(host.name, `upload to ${remotePath} failed: ${errorMessage(error)}`, error)
    }
  }

  async download(host: Host, remotePath: string, localPath: string): Promise<void> {
    const ssh = await this.connection(host)
    try {
      await this.unlessLost(host, ssh, () => ssh.getFile(localPath, remotePath, null, { concurrency: 16 }))
    } catch (error) {
      throw new ConnectionError(host.name, `download of ${remotePath} failed: ${errorMessage(error)}`, error)
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
    const lost = new Promise<never>((_, reject) => {
      onClose = () => reject(new Error(this.lostReasons.get(host.name) ?? 'connection closed'))
      connection.once('close', onClose)
    })
    try {
      await Promise.race([transfer(), lost])
    } finally {
      connection.removeListener('close', onClose)
    }
  }

  async close(): Promise<void> {
    const pending = [...this.connections.values()]
    this.connections.clear()
    await Promise.allSettled(pending.map(async (connection) => (await connection).dispose()))
  }

  private connection(host: Host): Promise<NodeSSH> {
    let connection = this.connections.get(host.name)
    if (!connection) {
      connection = this.connect(host)
      this.connections.set(host.name, connection)
    }
    return connection
  }

  private async connect(host: Host): Promise<NodeSSH> {
    const target = this.options.sshConfig.resolve(host, userInfo().username)
    this.options.reporter.emit({ type: 'connect', host: host.name, target: `${target.user}@${target.hostname}:${target.port}` })
    const config = this.connectConfig(target)
    if (target.proxyJump !== undefined) config.sock = await this.jump(host, target)
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
      throw new ConnectionError(host.name, describeConnectError(target, error), error)
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
      // A host that vanishes mid-command (cable, kernel panic) fails within ~20 s instead of hanging
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
  private async jump(host: Host, target: SshTarget): Promise<NonNullable<Config['sock']>> {
    const jump = parseHost(target.proxyJump ?? '')
    const via = await this.connection({ ...jump, user: jump.user, port: jump.port, roles: new Set(), properties: {} })
    try {
      return await via.forwardOut('127.0.0.1', 0, target.hostname, target.port)
    } catch (error) {
      const where = `${target.hostname}:${target.port}`
      throw new ConnectionError(host.name, `ProxyJump through ${jump.name} to ${where} failed: ${errorMessage(error)}`, error)
    }
  }
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
