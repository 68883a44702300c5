import { UsageError } from '../errors.ts'
import type { Fetch } from '../torrent/murder-options.ts'

const ON = new Set(['1', 'true', 'yes', 'on'])
const OFF = new Set(['0', 'false', 'no', 'off'])

/** An on/off variable (from `set` or a `key=value` word) with a default; anything else is a usage error. */
export function readSwitch(fetch: Fetch, name: string, fallback: boolean): boolean {
  const raw = fetch<unknown>(name, fallback)
  if (typeof raw === 'boolean') return raw
  const text = String(raw).trim().toLowerCase()
  if (ON.has(text)) return true
  if (OFF.has(text)) return false
  throw new UsageError(`${name} must be true or false, got ${JSON.stringify(raw)}; pass ${name}=true|false or fix where it is set (set() in the deployfile, or the stage file).`)
}
