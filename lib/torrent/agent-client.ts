import { DeployError, RemoteCommandError } from '../errors.ts'
import type { HostContext } from '../ssh/host-context.ts'

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

export function agentCommand(location: AgentLocation, subcommand: string, args: Record<string, string | number | boolean | undefined>): string[] {
  const argv = [location.node, agentPath(location), subcommand]
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined || value === false) continue
    argv.push(`--${name}`)
    if (value !== true) argv.push(String(value))
  }
  return argv
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
  onEvent: (event: AgentLine) => void = () => {}
): Promise<AgentLine[]> {
  const events: AgentLine[] = []
  const stderr: string[] = []
  try {
    await remote.run(agentCommand(location, subcommand, args), {
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
    })
  } catch (error) {
    if (!(error instanceof RemoteCommandError)) throw error
    const reason = stderr.filter((line) => line.trim() !== '').at(-1) ?? `exited ${error.code}`
    if (error.code === 127) {
      throw new DeployError(`${remote.host.name}: ${location.node} not found; install Node >= 20 there or set murder_node to its path.`, { exitCode: 1 })
    }
    throw new DeployError(`${remote.host.name}: murder agent ${subcommand}: ${reason}`, { exitCode: 1, cause: error })
  }
  return events
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
