import type { Readable } from 'node:stream'
import type { Host } from '../inventory/host.ts'

export interface ExecResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface OutputHandlers {
  onStdout?: (chunk: Buffer) => void
  onStderr?: (chunk: Buffer) => void
  /** The command's stdin, open until this stream ends; without it stdin is empty. */
  stdin?: Readable
}

/** How commands reach a host: real SSH, or the dry-run printer. */
export interface Backend {
  exec(host: Host, command: string, handlers: OutputHandlers): Promise<ExecResult>
  upload(host: Host, source: string | Buffer, remotePath: string): Promise<void>
  download(host: Host, remotePath: string, localPath: string): Promise<void>
  /** Closes every connection the run opened. */
  close(): Promise<void>
}
