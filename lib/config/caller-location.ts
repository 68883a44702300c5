import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PACKAGE_ROOT } from '../package-root.ts'

/**
 * murder's own code, whose frames are skipped: lib/, and the file this module runs from (under lib/
 * from source; the CLI bundle itself, should the bundle's source map be missing).
 */
const OWN_CODE = [join(PACKAGE_ROOT, 'lib') + sep, fileURLToPath(import.meta.url)]
/** `    at fn (/path/file.ts:12:5)` or `    at /path/file.ts:12:5`; paths may hold spaces and parentheses. */
const FRAME = /^\s*at (?:.*? \()?(file:\/\/)?(.+?):(\d+):\d+\)?$/

/** Where a call came from, worked out when first read: formatting a stack trace maps it through source maps, which costs. */
export interface CallerLocation {
  readonly value: string
}

/** The location of the first stack frame outside murder's own lib/, e.g. `deployfile.ts:12`. */
export function callerLocation(): CallerLocation {
  const trace = new Error()
  let location: string | undefined
  return {
    get value() {
      return (location ??= firstFrameOutsideLib(trace))
    },
  }
}

function firstFrameOutsideLib(trace: Error): string {
  return firstFrameOutside(trace.stack ?? '', (file) => OWN_CODE.some((own) => file.startsWith(own))) ?? 'unknown'
}

/** murder's own files and installed packages: where a deployfile's mistake is not. */
const NOT_USER_CODE = [...OWN_CODE, ...['bin', 'dist', 'tasks'].map((dir) => join(PACKAGE_ROOT, dir) + sep)]

/**
 * Where the deployfile's own code threw `error` (a TypeError in a task body, say): the first stack
 * frame outside murder and node_modules, e.g. `deployfile.ts:16`; undefined when there is none.
 *
 * @param insideDir - only frames under this directory count (the project's, so that whatever
 *   started the CLI is never taken for the deployfile)
 */
export function thrownAt(error: unknown, insideDir?: string): string | undefined {
  if (!(error instanceof Error) || error.stack === undefined) return undefined
  const within = insideDir === undefined ? undefined : join(insideDir, sep)
  return firstFrameOutside(
    error.stack,
    (file) =>
      file.includes(`${sep}node_modules${sep}`) || NOT_USER_CODE.some((own) => file.startsWith(own)) || (within !== undefined && !file.startsWith(within))
  )
}

function firstFrameOutside(stack: string, isSkipped: (file: string) => boolean): string | undefined {
  for (const frame of stack.split('\n').slice(1)) {
    const match = FRAME.exec(frame)
    if (!match?.[2]) continue
    const file = match[1] === undefined ? match[2] : decodeURI(match[2])
    if (file.startsWith('node:') || isSkipped(file)) continue
    return `${relative(process.cwd(), file) || file}:${match[3]}`
  }
  return undefined
}
