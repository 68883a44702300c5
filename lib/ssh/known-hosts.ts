// Host keys checked as OpenSSH checks them, against known_hosts files: a host that offers another
// key than the one recorded for it is refused (someone may sit between the controller and it); a
// host not recorded yet is accepted and recorded (StrictHostKeyChecking accept-new: trust on first
// use), or refused under `yes` (and under an `ask` written in the config: nothing asks mid-run);
// `no` checks nothing. ssh2, under node-ssh, accepts any key itself.
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** `ask`: written in the config, where ssh would ask; a run asks nothing mid-way, so a new host is refused. */
export type HostKeyChecking = 'yes' | 'ask' | 'accept-new' | 'no'

/** One key line of a known_hosts file. */
export interface KnownHostLine {
  file: string
  line: number
  marker: 'cert-authority' | 'revoked' | undefined
  /** The host patterns, comma-separated; hashed (`|1|salt|hash`) or plain, with `*`, `?` and `!`. */
  patterns: string
  keyType: string
  /** The key blob, base64 as written. */
  key: string
}

export function parseKnownHosts(text: string, file: string): KnownHostLine[] {
  const lines: KnownHostLine[] = []
  for (const [index, raw] of text.split('\n').entries()) {
    const fields = raw.trim().split(/\s+/)
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) continue
    const marker = fields[0] === '@revoked' ? 'revoked' : fields[0] === '@cert-authority' ? 'cert-authority' : undefined
    const [patterns, keyType, key] = marker === undefined ? fields : fields.slice(1)
    if (patterns === undefined || keyType === undefined || key === undefined) continue
    lines.push({ file, line: index + 1, marker, patterns, keyType, key })
  }
  return lines
}

/**
 * How known_hosts names a host: `host`, or `[host]:port` off port 22, lower-cased as ssh does
 * before matching or hashing; a HostKeyAlias as it is, without the port.
 */
export function knownHostName(hostname: string, port: number, alias?: string): string {
  if (alias !== undefined) return alias.toLowerCase()
  const host = hostname.toLowerCase()
  return port === 22 ? host : `[${host}]:${port}`
}

/** Whether a line's patterns name `name`: one matches and no negated one (`!pattern`) does. */
export function patternsMatch(patterns: string, name: string): boolean {
  let isMatched = false
  for (const pattern of patterns.split(',')) {
    if (pattern.startsWith('|1|')) {
      if (hashedMatches(pattern, name)) isMatched = true
    } else if (pattern.startsWith('!')) {
      if (wildcardMatches(pattern.slice(1), name)) return false
    } else if (wildcardMatches(pattern, name)) {
      isMatched = true
    }
  }
  return isMatched
}

/** HashKnownHosts' `|1|SALT|HASH`: HMAC-SHA1 of the name keyed with the salt. */
function nameHash(salt: Buffer, name: string): string {
  return createHmac('sha1', salt).update(name).digest('base64')
}

/** A name as HashKnownHosts writes it, with a random salt. */
function hashedName(name: string): string {
  const salt = randomBytes(20)
  return `|1|${salt.toString('base64')}|${nameHash(salt, name)}`
}

function hashedMatches(pattern: string, name: string): boolean {
  const [, , salt, hash] = pattern.split('|')
  if (salt === undefined || hash === undefined) return false
  return nameHash(Buffer.from(salt, 'base64'), name) === hash
}

function wildcardMatches(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern.toLowerCase() === name.toLowerCase()
  return wildcardPattern(pattern, 'i').test(name)
}

/** ssh's `*` (any run of characters) and `?` (one) as a whole-string RegExp; nothing else is special. */
export function wildcardPattern(pattern: string, flags = ''): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${source}$`, flags)
}

export type HostKeyVerdict =
  | { kind: 'known' }
  | { kind: 'unknown' }
  /** Another key is recorded for the host: of the same type, or only keys of other types. */
  | { kind: 'changed'; recorded: KnownHostLine }
  | { kind: 'revoked'; recorded: KnownHostLine }

/** What the files say of the key `name` offers (the raw key blob, as ssh2 hands it over). */
export function judgeHostKey(lines: readonly KnownHostLine[], name: string, key: Buffer): HostKeyVerdict {
  const offered = key.toString('base64')
  const revoked = lines.find((line) => line.marker === 'revoked' && line.key === offered)
  if (revoked) return { kind: 'revoked', recorded: revoked }
  const forHost = keysOf(lines, name)
  if (forHost.some((line) => line.key === offered)) return { kind: 'known' }
  // Only keys of other types on record is a change too: whoever answers might hold none of them
  // (the algorithms of the recorded types are offered first, so the host itself shows one).
  const type = keyTypeOf(key)
  const recorded = forHost.find((line) => line.keyType === type) ?? forHost[0]
  return recorded ? { kind: 'changed', recorded } : { kind: 'unknown' }
}

/** The plain key lines (no marker) that name `name`. */
function keysOf(lines: readonly KnownHostLine[], name: string): KnownHostLine[] {
  return lines.filter((line) => line.marker === undefined && patternsMatch(line.patterns, name))
}

/** The key type a key blob starts with (`ssh-ed25519`, `ssh-rsa`, …). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return ''
  const length = key.readUInt32BE(0)
  return key.subarray(4, 4 + length).toString('latin1')
}

/** `SHA256:…`, as `ssh-keygen -l` and OpenSSH's messages print it. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
}

/** The host key algorithms each recorded key type is checked under. */
const ALGORITHMS_OF_TYPE: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
}
const DEFAULT_ALGORITHMS = Object.values(ALGORITHMS_OF_TYPE).flat()

/**
 * The host key algorithms to offer, those of the key types recorded for `name` first (as OpenSSH
 * does): a host with an RSA key on record checks that key rather than offering a new ed25519 one.
 * Undefined: none recorded, ssh2's own order.
 */
export function preferredAlgorithms(lines: readonly KnownHostLine[], name: string): string[] | undefined {
  const known = keysOf(lines, name).flatMap((line) => ALGORITHMS_OF_TYPE[line.keyType] ?? [])
  if (known.length === 0) return undefined
  return [...new Set([...known, ...DEFAULT_ALGORITHMS])]
}

/** The run's known_hosts files, each read once; keys accepted on first use are added to the first user file. */
export class KnownHostsFiles {
  /** Each file's lines, and whether it ends a line (a key added then needs no newline before it). */
  private readonly cache = new Map<string, { lines: KnownHostLine[]; isLineEnded: boolean }>()

  lines(files: readonly string[]): KnownHostLine[] {
    return files.flatMap((file) => this.read(file).lines)
  }

  private read(file: string): { lines: KnownHostLine[]; isLineEnded: boolean } {
    let entry = this.cache.get(file)
    if (entry === undefined) {
      const text = readText(file)
      entry = { lines: parseKnownHosts(text, file), isLineEnded: text === '' || text.endsWith('\n') }
      this.cache.set(file, entry)
    }
    return entry
  }

  /**
   * Appends the key (as `ssh` does with accept-new), making the file's directory if need be, on a
   * line of its own even after a last line without its newline.
   */
  record(file: string, name: string, key: Buffer, isHashed = false): void {
    const keyType = keyTypeOf(key)
    const entry = this.read(file)
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    const patterns = isHashed ? hashedName(name) : name
    appendFileSync(file, `${entry.isLineEnded ? '' : '\n'}${patterns} ${keyType} ${key.toString('base64')}\n`, { mode: 0o600 })
    entry.isLineEnded = true
    // Line 0: added by this run.
    entry.lines.push({ file, line: 0, marker: undefined, patterns, keyType, key: key.toString('base64') })
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

/** Where and how a host's key is checked (from its ssh_config). */
export interface HostKeyPolicy {
  hostname: string
  port: number
  hostKeyAlias?: string | undefined
  hashKnownHosts?: boolean
  hostKeyChecking: HostKeyChecking
  userKnownHostsFiles: readonly string[]
  globalKnownHostsFiles: readonly string[]
}

/** ssh2's `hostVerifier` for one connection, what it refused and why, and the algorithms to offer. */
export interface HostKeyCheck {
  verify: (key: Buffer) => boolean
  refusal: () => string | undefined
  algorithms: string[] | undefined
}

/**
 * @param onSaid - told of a key accepted on first use and added to a file, and of one that could
 *   not be added
 */
export function hostKeyCheck(files: KnownHostsFiles, policy: HostKeyPolicy, onSaid: (text: string, level: 'info' | 'warn') => void): HostKeyCheck {
  const name = knownHostName(policy.hostname, policy.port, policy.hostKeyAlias)
  if (policy.hostKeyChecking === 'no') return { verify: () => true, refusal: () => undefined, algorithms: undefined }
  const paths = [...policy.userKnownHostsFiles, ...policy.globalKnownHostsFiles]
  let refusal: string | undefined
  const verify = (key: Buffer): boolean => {
    // Read again each time: ssh2 asks again at every rekey, and a key recorded since counts.
    const verdict = judgeHostKey(files.lines(paths), name, key)
    const offered = `${keyTypeOf(key)} key ${fingerprint(key)}`
    if (verdict.kind === 'known') return true
    if (verdict.kind === 'revoked') refusal = `its host ${offered} is revoked in ${where(verdict.recorded)}; refused`
    else if (verdict.kind === 'changed') {
      const { file, keyType } = verdict.recorded
      const other = keyType === keyTypeOf(key) ? 'another' : `a ${keyType} key`
      refusal =
        `its host key has changed: it offers the ${offered}, while ${where(verdict.recorded)} records ${other} for ${name}; someone may be ` +
        `intercepting the connection, or the host was reinstalled: check, then remove the old key (ssh-keygen -R '${name}' -f ${file}) and run again`
    } else if (policy.hostKeyChecking === 'yes' || policy.hostKeyChecking === 'ask') {
      const file = policy.userKnownHostsFiles[0] ?? '~/.ssh/known_hosts'
      const setting = policy.hostKeyChecking === 'yes' ? 'yes' : 'ask, and a run asks nothing mid-way'
      refusal = `its host ${offered} is in no known_hosts file and StrictHostKeyChecking is ${setting}; check the fingerprint, then add it: ssh-keyscan -p ${policy.port} ${policy.hostname} >> ${file}`
    } else {
      const file = policy.userKnownHostsFiles[0]
      if (file !== undefined && file !== '/dev/null') {
        try {
          files.record(file, name, key, policy.hashKnownHosts === true)
          onSaid(`added its host ${offered} to ${file} (first connection; later ones must offer the same)`, 'info')
        } catch (error) {
          // As ssh: a file it cannot write (a read-only ~/.ssh) is said, and the connection goes on.
          onSaid(`could not add its host ${offered} to ${file} (${(error as Error).message}); it is accepted for this run only`, 'warn')
        }
      }
      return true
    }
    return false
  }
  return { verify, refusal: () => refusal, algorithms: preferredAlgorithms(files.lines(paths), name) }
}

function where(line: KnownHostLine): string {
  return line.line === 0 ? `${line.file} (added by this run)` : `${line.file}:${line.line}`
}
