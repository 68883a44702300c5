import type { Backend, ExecResult } from './backend.ts'

/** Connects to nothing: commands and transfers are only reported (by the host context), every `test` passes. */
export class DryRunBackend implements Backend {
  async exec(): Promise<ExecResult> {
    return { code: 0, stdout: '', stderr: '' }
  }

  async upload(): Promise<void> {}

  async download(): Promise<void> {}

  interruptCommands(): number {
    return 0
  }

  async close(): Promise<void> {}
}
