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
  const frames = trace.stack?.split('\n').slice(1) ?? []
  for (const frame of frames) {
    const match = FRAME.exec(frame)
    if (!match?.[2]) continue
    const file = match[1] === undefined ? match[2] : decodeURI(match[2])
    if (file.startsWith('node:') || OWN_CODE.some((own) => file.startsWith(own))) continue
    return `${relative(process.cwd(), file) || file}:${match[3]}`
  }
  return 'unknown'
}
