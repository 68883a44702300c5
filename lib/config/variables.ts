import { UsageError } from '../errors.ts'
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

  set(name: string, value: unknown, origin: string | CallerLocation = callerLocation()): void {
    checkName(name)
    this.entries.set(name, { value, isLazy: typeof value === 'function', origin })
  }

  /** Sets only when nothing set it yet: how built-in tasks declare defaults. */
  setDefault(name: string, value: unknown): void {
    if (!this.entries.has(name)) this.set(name, value, 'default')
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

  /** Values, as strings, of the variables `isSecret` picks; lazy ones only once evaluated. */
  valuesOf(isSecretName: (name: string) => boolean): string[] {
    const isSecret = (name: string) => this.secrets.has(name) || isSecretName(name)
    const values: string[] = []
    for (const [name, value] of this.overrides) if (isSecret(name)) values.push(value)
    for (const [name, entry] of this.entries) {
      if (!isSecret(name) || entry.isLazy || this.overrides.has(name)) continue
      if (typeof entry.value === 'string' || typeof entry.value === 'number') values.push(String(entry.value))
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
  peek(name: string): { value: unknown; isLazy: boolean } | undefined {
    if (this.overrides.has(name)) return { value: this.overrides.get(name), isLazy: false }
    const entry = this.entries.get(name)
    return entry && { value: entry.value, isLazy: entry.isLazy }
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
