// SFTP uploads and downloads for the SSH backend: each on its own SFTP channel, a few at once
// across all hosts, stopped by Ctrl-C, and failed (not waited on forever) when the connection goes.
import { chmodSync, existsSync, mkdirSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { basename, dirname, join, posix } from 'node:path'
import type { NodeSSH } from 'node-ssh'
import pLimit, { type LimitFunction } from 'p-limit'
import { ConnectionError, DeployError, UsageError, errorMessage } from '../errors.ts'
import type { Reporter } from '../report/events.ts'
import type { Host } from '../inventory/host.ts'
import { sftpPath } from './remote-path.ts'
import type { Interruptions } from './command-interrupt.ts'
import type { SshConnections } from './ssh-connections.ts'
import { channelRefused, isChannelRefusal } from './ssh-channels.ts'

/** ssh2's SFTP session (node-ssh's typings name it; ssh2 ships none here). */
type SFTPWrapper = Awaited<ReturnType<NodeSSH['requestSFTP']>>

export class SftpTransfers {
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

  constructor(
    private readonly connections: SshConnections,
    private readonly interruptions: Interruptions,
    private readonly reporter: Reporter,
    /** Transfers under way at once across all hosts (transfer_concurrency). */
    concurrency: number
  ) {
    this.transferSlots = pLimit(concurrency)
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
            if (error) this.reporter.emit({ type: 'message', level: 'warn', host: host.name, text: `upload to ${remotePath}: its mode could not be set to ${localMode.toString(8)} (${error.message})` })
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
    const interrupt = this.interruptions.forCommand(true)
    // Made once: thrown in the transfer, it comes through the catch again (and `afterStop` tidies once).
    let stoppedError: DeployError | undefined
    const stopped = () => (stoppedError ??= new DeployError(`${host.name}: ${what} stopped by ${this.interruptions.cause}; ${afterStop()}`, { exitCode: 1 }))
    let sftp: SFTPWrapper | undefined
    try {
      const ssh = await this.connections.get(host)
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
      // SFTP writes as the SSH user, whatever as() or sudo would give a command.
      const hint = errorMessage(error) === 'Permission denied' ? '; transfers run as the SSH user, not as as() or sudo: upload to /tmp, then move it into place with remote.sudo' : ''
      throw new ConnectionError(host.name, `${what} failed: ${errorMessage(error)}${hint}`, error)
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
    if (!connection) throw new Error(this.connections.lostReason(host.name) ?? 'not connected')
    let onClose = () => {}
    // One listener per transfer under way: many at once on one host are expected, not a leak.
    connection.setMaxListeners(connection.getMaxListeners() + 1)
    const lost = new Promise<never>((_, reject) => {
      onClose = () => reject(new Error(this.connections.lostReason(host.name) ?? 'connection closed'))
      connection.once('close', onClose)
    })
    try {
      await Promise.race([transfer(), lost])
    } finally {
      connection.removeListener('close', onClose)
      connection.setMaxListeners(connection.getMaxListeners() - 1)
    }
  }
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
