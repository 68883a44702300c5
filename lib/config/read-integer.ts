import { UsageError } from '../errors.ts'
import type { Fetch } from '../torrent/murder-options.ts'

export interface IntegerRule {
  min: number
  max?: number
  /** What the number means, for the error: "seconds", "a TCP port". */
  unit: string
}

/**
 * A whole-number variable (from `set` or a `key=value` word), checked before anything starts:
 * `Number('abc')` would otherwise reach a remote command as `NaN`.
 */
export function readInteger(fetch: Fetch, name: string, fallback: number, rule: IntegerRule): number {
  const raw = fetch<unknown>(name, fallback)
  const text = typeof raw === 'string' ? raw.trim() : raw
  const value = typeof text === 'number' ? text : typeof text === 'string' && /^-?\d+$/.test(text) ? Number(text) : Number.NaN
  const max = rule.max ?? Number.MAX_SAFE_INTEGER
  if (!Number.isSafeInteger(value) || value < rule.min || value > max) {
    const range = rule.max === undefined ? `at least ${rule.min}` : `${rule.min} to ${rule.max}`
    throw new UsageError(`${name} must be a whole number ${range} (${rule.unit}), got ${JSON.stringify(raw)}; pass ${name}=N or fix where it is set (set() in the deployfile, or the stage file).`)
  }
  return value
}
