// Typed, validated options for each agent command, on top of node:util parseArgs. Pure: a bad
// value becomes an AgentUsageError whose message names the flag, the value and what is expected.
import { isIP } from 'node:net'
import { isAbsolute } from 'node:path'
import { parseArgs } from 'node:util'
import { PROCESS_KINDS } from '../protocol.ts'
import { AgentUsageError } from './errors.ts'
import { MAX_TORRENT_BYTES } from './torrent-stdin.ts'

type OptionKind = 'path' | 'port' | 'listenPort' | 'tag' | 'ip' | 'host' | 'infoHash' | 'seconds' | 'bytes' | 'url' | 'flag' | 'kind'

export interface OptionSpec {
  kind: OptionKind
  /** A few words for the error when it is missing, e.g. `DIR (the agent's run directory)`. */
  what: string
  isRequired?: boolean
  default?: string | number | boolean
}

type ValueOf<K extends OptionKind> = K extends 'port' | 'listenPort' | 'seconds' | 'bytes' ? number : K extends 'flag' ? boolean : string

export type OptionValues<S extends Record<string, OptionSpec>> = {
  [N in keyof S]: S[N] extends { isRequired: true } | { default: string | number | boolean } | { kind: 'flag' }
    ? ValueOf<S[N]['kind']>
    : ValueOf<S[N]['kind']> | undefined
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/** Parses `argv` (the words after the command name) against `spec`; unknown flags and positionals are errors. */
export function parseOptions<S extends Record<string, OptionSpec>>(command: string, spec: S, argv: readonly string[]): OptionValues<S> {
  const config: Record<string, { type: 'string' | 'boolean'; multiple: true }> = {}
  for (const [name, option] of Object.entries(spec)) config[name] = { type: option.kind === 'flag' ? 'boolean' : 'string', multiple: true }
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] }
  try {
    parsed = parseArgs({ args: [...argv], options: config, strict: true, allowPositionals: true })
  } catch (error) {
    throw new AgentUsageError(rewordParseError(command, spec, error))
  }
  const stray = parsed.positionals[0]
  if (stray !== undefined) throw new AgentUsageError(`${command}: unexpected argument "${stray}"; options are ${listOptions(spec)}`)

  const result: Record<string, string | number | boolean | undefined> = {}
  for (const [name, option] of Object.entries(spec)) {
    const given = parsed.values[name]
    const all = given === undefined ? [] : Array.isArray(given) ? given : [given]
    if (all.length > 1) throw new AgentUsageError(`${command}: --${name} given more than once`)
    const raw = all[0]
    if (raw === undefined) {
      if (option.isRequired === true) throw new AgentUsageError(`${command}: missing --${name} ${option.what}`)
      result[name] = option.default ?? (option.kind === 'flag' ? false : undefined)
      continue
    }
    result[name] = typeof raw === 'boolean' ? raw : checkValue(command, name, option.kind, raw)
  }
  return result as OptionValues<S>
}

function checkValue(command: string, name: string, kind: OptionKind, raw: string): string | number {
  const bad = (expected: string) => new AgentUsageError(`${command}: --${name} ${JSON.stringify(raw)} is not ${expected}`)
  switch (kind) {
    case 'path':
      if (!isAbsolute(raw) || raw.split('/').includes('..') || /[\0\n\r]/.test(raw)) throw bad('an absolute path without ".." or newlines')
      return raw.length > 1 ? raw.replace(/\/+$/, '') : raw
    case 'port': {
      const port = Number(raw)
      if (!/^\d+$/.test(raw) || port < 1 || port > 65535) throw bad('a port number (1-65535)')
      return port
    }
    case 'listenPort': {
      const port = Number(raw)
      if (!/^\d+$/.test(raw) || port > 65535) throw bad('a port number (0 for any free port)')
      return port
    }
    case 'seconds':
      if (!/^\d+$/.test(raw)) throw bad('a whole number of seconds')
      return Number(raw)
    case 'bytes':
      if (!/^\d+$/.test(raw) || Number(raw) > MAX_TORRENT_BYTES) throw bad(`a whole number of bytes up to ${MAX_TORRENT_BYTES}`)
      return Number(raw)
    case 'tag':
      if (!TAG.test(raw) || raw.includes('..')) throw bad('a tag (letters, digits, ".", "_" and "-"; no "/" or "..")')
      return raw
    case 'ip':
      if (isIP(raw) === 0) throw bad('an IP address (v4 or v6)')
      return raw
    case 'host':
      if (isIP(raw) === 0 && !/^[A-Za-z0-9.-]+$/.test(raw)) throw bad('an address to listen on')
      return raw
    case 'infoHash':
      if (!/^[0-9a-fA-F]{40}$/.test(raw)) throw bad('an info hash (40 hex characters)')
      return raw.toLowerCase()
    case 'url':
      if (!isAnnounceUrl(raw)) throw bad('a tracker URL like http://10.0.0.1:8998/announce')
      return raw
    case 'kind':
      if (!(PROCESS_KINDS as readonly string[]).includes(raw)) throw bad(`one of ${PROCESS_KINDS.join(', ')}`)
      return raw
    case 'flag':
      return raw
  }
}

function isAnnounceUrl(raw: string): boolean {
  try {
    const url = new URL(raw)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.port !== ''
  } catch {
    return false
  }
}

function rewordParseError(command: string, spec: Record<string, OptionSpec>, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: unknown }).code
  const flag = /'(-[^']*)'/.exec(message)?.[1] ?? '?'
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `${command}: unknown option ${flag}; options are ${listOptions(spec)}`
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = flag.replace(/^--?/, '').split(' ')[0] ?? flag
    const option = spec[name]
    return option?.kind === 'flag' ? `${command}: --${name} takes no value` : `${command}: --${name} needs a value: ${option?.what ?? ''}`.trimEnd()
  }
  return `${command}: ${message.split('\n')[0] ?? message}`
}

function listOptions(spec: Record<string, OptionSpec>): string {
  return Object.keys(spec)
    .map((name) => `--${name}`)
    .join(' ')
}
