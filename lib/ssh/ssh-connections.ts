// The run's SSH connections: one per host, opened on first use (through ssh_config, known_hosts,
// ProxyJump) and shared by every task; why a host's connection ended, for the commands it cut short.
import { existsSync, readFileSync } from 'node:fs'
import { homedir, userInfo } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import type { Config, NodeSSH } from 'node-ssh'
import { ConnectionError, errorMessage } from '../errors.ts'
import { parseHost, type Host } from '../inventory/host.ts'
import { hostKeyCheck, KnownHostsFiles } from './known-hosts.ts'
import type { SshConfigFile, SshTarget } from '../inventory/ssh-config.ts'
import type { Reporter } from '../report/events.ts'

export interface SshConnectionOptions {
  sshConfig: SshConfigFile
  connectTimeoutMs: number
  reporter: Reporter
}

const KEEPALIVE_INTERVAL_MS = 5_000
/**
 * Unanswered keepalives before a connection counts as dead: 30 s of silence. The agent's upload
 * through a 32 kbit/s farm link heard nothing back for 12-14 s between SFTP acknowledgements, and
 * with 3 (20 s) one upload in two or three failed with "Keepalive timeout".
 */
const KEEPALIVE_COUNT_MAX = 5

/** Tried, as ssh does, when ssh_config names no IdentityFile. */
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => join(homedir(), '.ssh', name))

export class SshConnections {
  private readonly connections = new Map<string, Promise<NodeSSH>>()
  /** Why a host's connection ended, for the commands it cut short. */
  private readonly lostReasons = new Map<string, string>()
  /** known_hosts, read once a run. */
  private readonly knownHosts = new KnownHostsFiles()

  constructor(private readonly options: SshConnectionOptions) {}

  /** Why the host's connection ended, if it has (cleared when it connects again). */
  lostReason(hostName: string): string | undefined {
    return this.lostReasons.get(hostName)
  }

  /** Ends every connection. */
  async close(): Promise<void> {
    const pending = [...this.connections.values()]
    this.connections.clear()
    await Promise.allSettled(pending.map(async (connection) => (await connection).dispose()))
  }

  /**
   * The host's connection, opened on first use and shared by every later use.
   * @param via - the hosts whose ProxyJump leads here, nearest last (a loop among them is refused)
   */
  get(host: Host, via: readonly string[] = []): Promise<NodeSSH> {
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
    const via = await this.get({ ...jump, hostname: jump.name, user: jump.user, port: jump.port, roles: new Set(), properties: {} }, chain)
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
