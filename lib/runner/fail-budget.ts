// `max_fail`: how many hosts may fail before a run stops (Ansible's max_fail_percentage, as a count
// or a percentage of the hosts the run targets). Pure.
import { UsageError } from '../errors.ts'

export type FailBudget = { kind: 'count'; count: number } | { kind: 'percent'; percent: number }

/** No budget: the first failing host stops the run (Capistrano's behaviour). */
export const NO_FAILURES: FailBudget = { kind: 'count', count: 0 }

export function parseFailBudget(value: unknown): FailBudget {
  if (value === undefined || value === null || value === '') return NO_FAILURES
  const text = String(value).trim()
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text)
  if (percent) {
    const number = Number(percent[1])
    if (number <= 100) return { kind: 'percent', percent: number }
  } else if (/^\d+$/.test(text)) {
    return { kind: 'count', count: Number(text) }
  }
  throw new UsageError(`max_fail must be a host count (max_fail=2) or a percentage of the targeted hosts (max_fail=10%), got "${text}".`)
}

/** How many of `targetCount` hosts may fail; a percentage rounds down, as Ansible's does. */
export function allowedFailures(budget: FailBudget, targetCount: number): number {
  if (budget.kind === 'count') return budget.count
  return Math.floor((targetCount * budget.percent) / 100 + 1e-9)
}

/** A percentage that allows no host of so few (10% of 8): said, since the run then stops at the first failure. */
export function roundedAwayBudget(budget: FailBudget, targetCount: number): string | undefined {
  if (budget.kind !== 'percent' || budget.percent === 0 || targetCount === 0 || allowedFailures(budget, targetCount) > 0) return undefined
  return `max_fail=${budget.percent}% of ${targetCount} targeted host(s) allows no failed host (a percentage rounds down); max_fail=1 carries on past one`
}

export function describeBudget(budget: FailBudget): string {
  return budget.kind === 'count' ? String(budget.count) : `${budget.percent}%`
}
