import { relative } from 'node:path'

const FRAME = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?$/

/** `file:line` of the first stack frame outside murder's own lib/, e.g. `deployfile.ts:12`. */
export function callerLocation(): string {
  const frames = new Error().stack?.split('\n').slice(1) ?? []
  const libDir = new URL('..', import.meta.url).pathname
  for (const frame of frames) {
    const match = FRAME.exec(frame.trim())
    const file = match?.[1]?.replace(/^file:\/\//, '')
    if (!file || file.startsWith(libDir) || file.startsWith('node:')) continue
    return `${relative(process.cwd(), file) || file}:${match?.[2]}`
  }
  return 'unknown'
}
