import type { Backend, ExecResult, OutputHandlers } from './backend.ts'
import type { Host } from '../inventory/host.ts'

/** Connects to nothing: commands and transfers are only reported (by the host context), every `test` passes. */
export class DryRunBackend implements Backend {
  async exec(_host: Host, _command: string, handlers: OutputHandlers): Promise<ExecResult> {
    handlers.onReached?.()
    return { code: 0, stdout: '', stderr: '' }
  }

  async upload(): Promise<void> {}

  async download(): Promise<void> {}

  interruptCommands(_cause: string): number {
    return 0
  }

  async close(): Promise<void> {}
}
