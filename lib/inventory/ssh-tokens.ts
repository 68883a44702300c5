// ssh_config's TOKENS and environment variables, expanded as ssh expands them: `HostName
// %h.corp.example.com`, `IdentityFile ~/.ssh/%r@%h`, `IdentityFile ${KEYS}/deploy`. Left as they
// were, a hostname with `%h` in it fails to resolve and a key path names no file.
import { createHash } from 'node:crypto'
import { ConfigError } from '../errors.ts'

/** What the tokens stand for, for one connection. */
export interface TokenValues {
  /** %h: the hostname connected to (after HostName). */
  hostname: string
  /** %n: the host as the inventory names it, before HostName. */
  originalHost: string
  /** %p, %r */
  port: number
  user: string
  /** %d, %u, %i, %l */
  localHome: string
  localUser: string
  localUid: number
  localHostname: string
  /** %k: HostKeyAlias, else the original host. */
  hostKeyAlias: string | undefined
  /** %j: ProxyJump, else empty. */
  proxyJump: string | undefined
}

/** HostName takes %% and %h only, ProxyJump four, the file options all of these (ssh_config(5), TOKENS). */
const HOSTNAME_TOKENS = '%h'
const PROXY_TOKENS = '%h %n %p %r'
const FILE_TOKENS = '%C %d %h %i %j %k %L %l %n %p %r %u'

/** Expands ProxyJump's %h, %n, %p, %r and %%. */
export function expandProxyJump(value: string, values: Pick<TokenValues, 'hostname' | 'originalHost' | 'port' | 'user'>, at: string): string {
  return expand(value, PROXY_TOKENS, { h: values.hostname, n: values.originalHost, p: String(values.port), r: values.user }, 'ProxyJump', at)
}

/** Expands `HostName`'s %h (the host as named) and %%. */
export function expandHostName(value: string, originalHost: string, at: string): string {
  return expand(value, HOSTNAME_TOKENS, { h: originalHost }, 'HostName', at)
}

/** Expands an IdentityFile's or known-hosts file's tokens and `${VAR}`s (each must be set, as ssh requires), in one pass as ssh does. */
export function expandFileOption(keyword: string, value: string, values: TokenValues, env: Readonly<Record<string, string | undefined>>, at: string): string {
  const localShort = values.localHostname.split('.')[0] ?? values.localHostname
  const port = String(values.port)
  const jump = values.proxyJump ?? ''
  const table: Record<string, string> = {
    C: createHash('sha1').update(`${values.localHostname}${values.hostname}${port}${values.user}${jump}`).digest('hex'),
    d: values.localHome,
    h: values.hostname,
    i: String(values.localUid),
    j: jump,
    k: values.hostKeyAlias ?? values.originalHost,
    L: localShort,
    l: values.localHostname,
    n: values.originalHost,
    p: port,
    r: values.user,
    u: values.localUser,
  }
  return expand(value, FILE_TOKENS, table, keyword, at, env)
}

function expand(value: string, allowed: string, table: Readonly<Record<string, string>>, keyword: string, at: string, env?: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/%(.?)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, letter: string | undefined, name: string | undefined) => {
    if (name !== undefined) {
      if (env === undefined) return whole
      const set = env[name]
      if (set === undefined) throw new ConfigError(`${keyword} ${value}: the environment variable ${name} is not set`, at)
      return set
    }
    if (letter === '%') return '%'
    const replacement = allowed.split(' ').includes(`%${letter}`) ? table[letter ?? ''] : undefined
    if (replacement === undefined) {
      const token = letter === '' ? 'a lone % at its end' : `%${letter}`
      throw new ConfigError(`${keyword} ${value}: ${token} is not a token ${keyword} takes (it takes %% ${allowed}; write %% for a %)`, at)
    }
    return replacement
  })
}
