import type { Backend, ExecResult } from './backend.ts'
import type { Host } from '../inventory/host.ts'
import type { Reporter } from '../report/events.ts'

/** Connects to nothing: commands are only reported, every `test` passes and transfers are described. */
export class DryRunBackend implements Backend {
  constructor(private readonly reporter: Reporter) {}

  async exec(): Promise<ExecResult> {
    return { code: 0, stdout: '', stderr: '' }
  }

  async upload(host: Host, source: string | Buffer, remotePath: string): Promise<void> {
    const what = typeof source === 'string' ? source : `${source.length} bytes`
    this.reporter.emit({ type: 'transfer', host: host.name, direction: 'upload', local: what, remote: remotePath })
  }

  async download(host: Host, remotePath: string, localPath: string): Promise<void> {
    this.reporter.emit({ type: 'transfer', host: host.name, direction: 'download', local: localPath, remote: remotePath })
  }

  async close(): Promise<void> {}
}
