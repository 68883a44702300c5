import type { Readable } from 'node:stream'
import type { Host } from '../inventory/host.ts'

export interface ExecResult {
  code: number | null
  stdout: string
  stderr: string
  /** Stopped by the run's interruption (`interruptCommands`): what stopped it, `Ctrl-C` or a signal's name. */
  interruptedBy?: string
}

export interface OutputHandlers {
  onStdout?: (chunk: Buffer) => void
  onStderr?: (chunk: Buffer) => void
  /** The command's stdin, open until this stream ends; without it stdin is empty. */
  stdin?: Readable
  /** Not stopped by the first Ctrl-C: it has its own way to stop (a murder agent told `stop`). */
  survivesInterrupt?: boolean
  /**
   * Called once the host is reached (its host key checked) and the command is about to start: a
   * command shown before then, and refused with its connection, would read as run in a log.
   */
  onReached?: () => void
}

/** How commands reach a host: real SSH, or the dry-run printer. */
export interface Backend {
  exec(host: Host, command: string, handlers: OutputHandlers): Promise<ExecResult>
  /** Remote paths as the user wrote them: `~/x` is in the login directory. */
  /** `mode`: the file's permission bits, set before any byte is written (else a new file takes the local file's). */
  upload(host: Host, source: string | Buffer, remotePath: string, mode?: number): Promise<void>
  download(host: Host, remotePath: string, localPath: string): Promise<void>
  /**
   * The run's interruption (Ctrl-C, SIGTERM, SIGHUP; `cause` names it): sends SIGTERM to the
   * process group of every command running now (but those marked `survivesInterrupt`), so it ends
   * as `killed`, saying what stopped it, and closes every upload's and download's SFTP channel, so
   * it fails at once. Returns how many it stopped.
   */
  interruptCommands(cause: string): number
  /** Closes every connection the run opened. */
  close(): Promise<void>
}
