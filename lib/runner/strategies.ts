import pLimit from 'p-limit'
import { UsageError } from '../errors.ts'

export type Strategy = 'parallel' | 'sequence' | 'groups'

export interface StrategyOptions {
  in?: Strategy
  /** parallel: at most this many hosts at once; groups: the group size (default 2). */
  limit?: number
  /** Seconds to wait between hosts (sequence) or groups (groups); default 2, as SSHKit. */
  wait?: number
}

export interface Outcome<T> {
  values: Map<string, T>
  failures: Map<string, Error>
}

/** What `work` returns for an item it did not start, as the run was stopping: neither done nor failed. */
export const NOT_STARTED: unique symbol = Symbol('not started')

/**
 * Runs `work` per item as SSHKit's runners do. `shouldStop` is asked before starting each
 * sequential item or group: a failure stops what has not started, never what is running. In
 * parallel, `work` asks itself once its item's turn comes under a limit, and returns NOT_STARTED.
 */
export async function runWithStrategy<T, I extends { name: string }>(
  items: readonly I[],
  options: StrategyOptions,
  work: (item: I) => Promise<T | typeof NOT_STARTED>,
  shouldStop: () => boolean
): Promise<Outcome<T>> {
  const outcome: Outcome<T> = { values: new Map(), failures: new Map() }
  const settle = async (item: I): Promise<void> => {
    try {
      const value = await work(item)
      if (value !== NOT_STARTED) outcome.values.set(item.name, value)
    } catch (error) {
      outcome.failures.set(item.name, error instanceof Error ? error : new Error(String(error)))
    }
  }
  const waitMs = (options.wait ?? 2) * 1000
  const strategy = options.in ?? 'parallel'
  switch (strategy) {
    case 'parallel': {
      const limit = pLimit(options.limit ?? Number.POSITIVE_INFINITY)
      await Promise.all(items.map((item) => limit(() => settle(item))))
      break
    }
    case 'sequence':
      for (const [index, item] of items.entries()) {
        if (shouldStop()) break
        if (index > 0 && waitMs > 0) await sleep(waitMs)
        await settle(item)
      }
      break
    case 'groups': {
      const size = options.limit ?? 2
      for (let start = 0; start < items.length; start += size) {
        if (shouldStop()) break
        if (start > 0 && waitMs > 0) await sleep(waitMs)
        await Promise.all(items.slice(start, start + size).map(settle))
      }
      break
    }
  }
  // In the items' order (the inventory's), not the order hosts happened to finish in.
  const inOrder = <V>(map: Map<string, V>) => new Map(items.flatMap((item) => (map.has(item.name) ? [[item.name, map.get(item.name) as V] as const] : [])))
  return { values: inOrder(outcome.values), failures: inOrder(outcome.failures) }
}

export function checkStrategyOptions(options: StrategyOptions): void {
  if (options.in !== undefined && !['parallel', 'sequence', 'groups'].includes(options.in)) {
    throw new UsageError(`on(): unknown in: ${JSON.stringify(options.in)}; use "parallel", "sequence" or "groups"`)
  }
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) {
    throw new UsageError(`on(): "limit" must be a positive integer, got ${JSON.stringify(options.limit)}`)
  }
  if (options.in === 'sequence' && options.limit !== undefined) {
    throw new UsageError(`on(): "limit" has no meaning with in: "sequence" (one host at a time); drop it, or use in: "groups" with limit ${options.limit}`)
  }
  if (options.wait !== undefined && !(typeof options.wait === 'number' && options.wait >= 0)) {
    throw new UsageError(`on(): "wait" must be a number of seconds >= 0, got ${JSON.stringify(options.wait)}`)
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
