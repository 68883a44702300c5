import { join, relative, sep } from 'node:path'
import { PACKAGE_ROOT } from '../package-root.ts'

const FRAME = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?$/
/** murder's own code: frames there are skipped (from the CLI bundle, stack traces are mapped back to lib/). */
const LIB_DIRECTORY = join(PACKAGE_ROOT, 'lib') + sep

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
    const match = FRAME.exec(frame.trim())
    const file = match?.[1]?.replace(/^file:\/\//, '')
    if (!file || file.startsWith(LIB_DIRECTORY) || file.startsWith('node:')) continue
    return `${relative(process.cwd(), file) || file}:${match?.[2]}`
  }
  return 'unknown'
}
