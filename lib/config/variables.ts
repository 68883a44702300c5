import { UsageError } from '../errors.ts'
import { passwordInUrl } from '../report/redact.ts'
import { callerLocation, type CallerLocation } from './caller-location.ts'

export type VariableValue = unknown
type Lazy = () => unknown

interface Entry {
  value: unknown
  isLazy: boolean
  /** Where it was set (`deployfile.ts:12`, `command line`, `roles/prod.yaml`), for `--verbose` and errors. */
  origin: string | CallerLocation
}

/**
 * Capistrano's variables: `set` may take a function, evaluated once at the first `fetch`;
 * command-line `key=value` overrides win over every `set`.
 */
export class Variables {
  private readonly entries = new Map<string, Entry>()
  private readonly overrides = new Map<string, string>()
  /** Masked in the run's output whatever their name: answers typed hidden (`ask` with echo: false). */
  private readonly secrets = new Set<string>()
  /** What a lazy value will do, for `doctor` (an `ask`'s question), instead of "a function". */
  private readonly lazyDescriptions = new Map<string, string>()

  set(name: string, value: unknown, origin: string | CallerLocation = callerLocation()): void {
    checkName(name)
    this.entries.set(name, { value, isLazy: typeof value === 'function', origin })
    // A later set() replaces an ask(): doctor must not describe the question any more.
    this.lazyDescriptions.delete(name)
  }

  /** Sets only when nothing set it yet: how built-in tasks declare defaults. */
  setDefault(name: string, value: unknown): void {
    if (!this.entries.has(name)) this.set(name, value, 'default')
  }

  /** Says what the lazy value `set` gave will do when fetched (for `doctor`, which does not run it). */
  describeLazy(name: string, description: string): void {
    this.lazyDescriptions.set(name, description)
  }

  /** Its value is masked in the run's output like a variable named as a secret. */
  markSecret(name: string): void {
    this.secrets.add(name)
  }

  override(name: string, value: string): void {
    checkName(name)
    this.overrides.set(name, value)
  }

  fetch<T = unknown>(name: string, fallback?: T): T {
    const override = this.overrides.get(name)
    if (override !== undefined) return override as T
    const entry = this.entries.get(name)
    if (!entry) return fallback as T
    if (entry.isLazy) {
      entry.value = (entry.value as Lazy)()
      entry.isLazy = false
    }
    return (entry.value ?? fallback) as T
  }

  /**
   * The secrets the variables hold, as strings; lazy ones only once evaluated: the whole value of a
   * variable `isSecretName` picks (or marked secret), every string inside an object such a variable
   * holds, and in any other value what sits under a secret-named key or as a URL's password.
   */
  valuesOf(isSecretName: (name: string) => boolean): string[] {
    const values: string[] = []
    for (const [name, value] of this.overrides) values.push(...secretStringsIn(value, this.secrets.has(name) || isSecretName(name), isSecretName))
    for (const [name, entry] of this.entries) {
      if (entry.isLazy || this.overrides.has(name)) continue
      values.push(...secretStringsIn(entry.value, this.secrets.has(name) || isSecretName(name), isSecretName))
    }
    return values
  }

  has(name: string): boolean {
    return this.overrides.has(name) || this.entries.has(name)
  }

  names(): string[] {
    return [...new Set([...this.entries.keys(), ...this.overrides.keys()])].sort()
  }

  /** What `name` holds now, without evaluating a function `set` gave (`doctor` shows it without running it). */
  peek(name: string): { value: unknown; isLazy: boolean; description?: string } | undefined {
    if (this.overrides.has(name)) return { value: this.overrides.get(name), isLazy: false }
    const entry = this.entries.get(name)
    const description = entry?.isLazy ? this.lazyDescriptions.get(name) : undefined
    return entry && { value: entry.value, isLazy: entry.isLazy, ...(description === undefined ? {} : { description }) }
  }

  originOf(name: string): string | undefined {
    if (this.overrides.has(name)) return 'command line'
    const origin = this.entries.get(name)?.origin
    return typeof origin === 'object' ? origin.value : origin
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new UsageError(`Invalid variable name "${name}": use letters, digits and "_", starting with a letter.`)
  }
}

/** The strings of `value` that are secret: all of them when `isSecret`, else those under secret-named keys and URLs' passwords. */
function secretStringsIn(value: unknown, isSecret: boolean, isSecretName: (name: string) => boolean, seen = new Set<object>()): string[] {
  if (typeof value === 'string') {
    if (isSecret) return [value]
    const password = passwordInUrl(value)
    return password === undefined ? [] : [password]
  }
  if (typeof value === 'number' || typeof value === 'bigint') return isSecret ? [String(value)] : []
  // Plain data only (what set() and stage files give), each object once: this runs at every line
  // the CLI writes, so no getters or proxies are touched and shared or circular references cost nothing.
  if (value === null || typeof value !== 'object' || seen.has(value)) return []
  if (!Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return []
  seen.add(value)
  const entries = Array.isArray(value) ? value.map((item: unknown) => ['', item] as const) : Object.entries(value)
  return entries.flatMap(([key, item]) => secretStringsIn(item, isSecret || (key !== '' && isSecretName(key)), isSecretName, seen))
}
