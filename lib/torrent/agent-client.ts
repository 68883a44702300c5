import type { Readable } from 'node:stream'
import { DeployError, RemoteCommandError } from '../errors.ts'
import type { HostContext } from '../ssh/host-context.ts'
import { TRANSFER_ENV_SCRIPT, TRANSFER_NODE_FLAGS } from './protocol.ts'
import { commandHint } from '../runner/command-hint.ts'

/** Where the agent lives on a host and how to call it; every argument goes through the argv quoting. */
export interface AgentLocation {
  node: string
  /** `remote_murder_path` */
  murderPath: string
}

export const AGENT_FILE = 'murder-agent.cjs'

export function agentPath(location: AgentLocation): string {
  return `${location.murderPath}/${AGENT_FILE}`
}

/** Pid files, logs and the tracker's whitelist live here; `distribute_files` never clears it. */
export function runDirectory(location: AgentLocation): string {
  return `${location.murderPath}/run`
}

export function agentCommand(
  location: AgentLocation,
  subcommand: string,
  args: Record<string, string | number | boolean | undefined>,
  nodeFlags: readonly string[] = []
): string[] {
  const argv = [location.node, ...nodeFlags, agentPath(location), subcommand]
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined || value === false) continue
    argv.push(`--${name}`)
    if (value !== true) argv.push(String(value))
  }
  return argv
}

/**
 * The argv of an agent subcommand; a process that moves a payload's bytes (`isTransfer`) gets
 * Node's flags and malloc's tunables for it (TRANSFER_ENV_SCRIPT), whatever the login shell is.
 */
export function agentArgv(location: AgentLocation, subcommand: string, args: Record<string, string | number | boolean | undefined>, isTransfer: boolean): string[] {
  const argv = agentCommand(location, subcommand, args, isTransfer ? TRANSFER_NODE_FLAGS : [])
  return isTransfer ? ['sh', '-c', TRANSFER_ENV_SCRIPT, ...argv] : argv
}

export interface AgentRunOptions {
  onEvent?: (event: AgentLine) => void
  /** The command's stdin (`peer --hold` reads its stop request there). */
  stdin?: Readable
  /** A process that moves a payload (a held seeder or peer that is its own daemon): Node's flags and malloc's tunables for it. */
  isTransfer?: boolean
  /** Held open past its on() block (`--hold`): the block's end does not wait for it. */
  outlivesBlock?: boolean
}

export type AgentLine = { type: string } & Record<string, unknown>

/**
 * Runs an agent subcommand; JSON lines go to `onEvent` (and are returned), other output streams as usual.
 * A failure becomes one line naming the host and the agent's own message.
 */
export async function runAgent(
  remote: HostContext,
  location: AgentLocation,
  subcommand: string,
  args: Record<string, string | number | boolean | undefined>,
  { onEvent = () => {}, stdin, isTransfer = false, outlivesBlock = false }: AgentRunOptions = {}
): Promise<AgentLine[]> {
  const events: AgentLine[] = []
  const stderr: string[] = []
  try {
    await remote.run(agentArgv(location, subcommand, args, isTransfer), {
      onLine: (line, stream) => {
        if (stream === 'stderr') {
          stderr.push(line)
          return
        }
        const event = parseAgentLine(line)
        if (event) {
          events.push(event)
          onEvent(event)
        }
      },
      ...(stdin ? { stdin } : {}),
      // Ctrl-C stops agents through their own protocol (`stop`), which cleans up after them.
      survivesInterrupt: true,
      ...(outlivesBlock ? { outlivesBlock: true } : {}),
    })
  } catch (error) {
    if (!(error instanceof RemoteCommandError)) throw error
    throw new DeployError(`${remote.host.name}: ${describeAgentFailure(location, subcommand, error.code, stderr)}`, { exitCode: 1, cause: error })
  }
  return events
}

/** The agent's exit code for a command line it refuses (its main.ts). */
const AGENT_USAGE_EXIT_CODE = 2

/** Node's footer under an uncaught exception's stack, the last line it prints. */
const NODE_CRASH_FOOTER = /^Node\.js v\d+/

/**
 * One line saying why an agent command failed: the agent's own last word, or for a crash of Node
 * itself the error line of its stack (its last line is only Node's version).
 */
export function describeAgentFailure(location: AgentLocation, subcommand: string, exitCode: number | null, stderr: readonly string[]): string {
  if (exitCode === 127) return `${location.node} not found; install Node >= 20 there or set murder_node to its path.`
  // Whatever it wrote last (a warning, say) is not why it ended.
  if (exitCode === null) return `murder agent ${subcommand} was killed by a signal (by hand, or by the kernel for memory); see its log in ${runDirectory(location)}`
  const lines = stderr.map((line) => line.trim()).filter((line) => line !== '')
  if (lines.some((line) => line.startsWith('Error: Cannot find module') && line.includes(agentPath(location)))) {
    return `the murder agent is not installed at ${agentPath(location)}; run \`${commandHint('murder:distribute_files')}\` first.`
  }
  const crashed = lines.some((line) => NODE_CRASH_FOOTER.test(line))
  const reason = (crashed ? lines.find((line) => /^\w*Error\b/.test(line)) : undefined) ?? lines.at(-1) ?? `exited ${exitCode}`
  // Exit 2 is a command line the agent refuses; this controller writes only ones its own agent takes.
  if (exitCode === AGENT_USAGE_EXIT_CODE) return `murder agent ${subcommand}: ${reason} (is ${agentPath(location)} older than this controller? run \`${commandHint('murder:distribute_files')}\`)`
  return `murder agent ${subcommand}: ${reason}`
}

export function parseAgentLine(line: string): AgentLine | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const value: unknown = JSON.parse(line)
    if (typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string') {
      return value as AgentLine
    }
  } catch {
    return undefined
  }
  return undefined
}
