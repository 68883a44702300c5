/** Everything lib/ tells the user goes through these events; only reporters write to the terminal. */
export type RunEvent =
  | { type: 'task-start'; task: string }
  /** `failedHosts`: hosts that failed while the task carried on without them (onError: 'continue', max_fail). */
  | { type: 'task-end'; task: string; durationMs: number; ok: boolean; failedHosts?: string[] }
  | { type: 'task-skip'; task: string; reason: string }
  /** `quiet`: a command whose output the caller keeps (capture, test): shown under --verbose and --dry-run only. */
  | { type: 'command'; host: string; command: string; quiet?: true }
  | { type: 'command-end'; host: string; command: string; code: number | null; durationMs: number }
  /** `quiet`: the stderr of a quiet command (capture, test), shown where its command line is. */
  | { type: 'output'; host: string; stream: 'stdout' | 'stderr'; line: string; quiet?: true }
  | { type: 'host-failed'; host: string; message: string }
  | { type: 'connect'; host: string; target: string }
  /** `outcome`: what the run did, shown even under -q (the release a deploy published). */
  | { type: 'message'; level: 'info' | 'warn' | 'outcome'; host?: string; text: string }
  | { type: 'progress'; lines: string[]; final: boolean }

export interface Reporter {
  emit(event: RunEvent): void
  /** The run's summary is out: what still settles after it (a connection closing under a stopped command) is not shown below it. */
  close?(): void
}

/** Lines of the summary printed when a run ends. */
export interface RunSummary {
  ok: boolean
  durationMs: number
  tasks: { name: string; durationMs: number; ok: boolean }[]
  succeededHosts: string[]
  /** Hosts ROLES=/HOSTS= left out that worked for the run anyway (a swarm's tracker and seeder). */
  helperHosts?: string[]
  failedHosts: { host: string; message: string }[]
  /** Hosts a block never started, since the run stopped before them (in sequence or groups). */
  unstartedHosts?: string[]
  /** A failure that belongs to no host (a local error in a task). */
  error?: string
  /** --dry-run: nothing ran on any host, so none "succeeded". */
  isDryRun?: boolean
}
