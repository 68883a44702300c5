/** ANSI colouring that is a no-op when output is not a terminal. */
export interface Paint {
  bold(text: string): string
  dim(text: string): string
  red(text: string): string
  green(text: string): string
  yellow(text: string): string
  host(name: string): string
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39] } as const
const HOST_COLOURS = [36, 35, 34, 33, 32, 96, 95, 94]

/**
 * Colour on a terminal, or wherever FORCE_COLOR asks for it (CI logs that render ANSI); never with
 * NO_COLOR set, which wins as the reader's own choice. FORCE_COLOR=0 (or false) means none.
 */
export function wantsColour(isTTY: boolean, env: Record<string, string | undefined>): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false
  const force = env['FORCE_COLOR']
  if (force === '0' || force === 'false') return false
  return force !== undefined || isTTY
}

export function createPaint(isColour: boolean): Paint {
  const wrap = (open: number, close: number) => (text: string) =>
    isColour ? `\u001b[${open}m${text}\u001b[${close}m` : text
  return {
    bold: wrap(...CODES.bold),
    dim: wrap(...CODES.dim),
    red: wrap(...CODES.red),
    green: wrap(...CODES.green),
    yellow: wrap(...CODES.yellow),
    host: (name) => wrap(HOST_COLOURS[hashOf(name) % HOST_COLOURS.length] ?? 36, 39)(name),
  }
}

function hashOf(text: string): number {
  let hash = 0
  for (const char of text) hash = (hash * 31 + char.charCodeAt(0)) >>> 0
  return hash
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`
}

/** A host's failure as said on a line that already names the host: its message without the leading `HOST: `. */
export function withoutHostName(host: string, message: string): string {
  return message.startsWith(`${host}: `) ? message.slice(host.length + 2) : message
}
