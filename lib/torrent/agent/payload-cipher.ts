// The swarm carries a deploy's release encrypted (swarm_encryption): BitTorrent has no secrecy, and
// anyone who reaches a peer's port with the info hash could fetch the payload. AES-256-CTR, a key
// per deploy made on the controller and sent to each host over SSH, on the stdin of the command
// that unpacks (never in an argv, where `ps` shows it, nor on a host's disk). With it comes the
// plain archive's SHA-256, which the host checks as it decrypts: CTR has no authentication tag,
// and this check holds whatever path the ciphertext took (the torrent's hashes cover it too).
import { createCipheriv, createDecipheriv, randomBytes, type Cipher, type Decipher } from 'node:crypto'
import { AgentUsageError } from './errors.ts'

const ALGORITHM = 'aes-256-ctr'
const KEY_BYTES = 32
const IV_BYTES = 16
/** The key line's form, so that an agent and a controller of other versions refuse each other plainly. */
const KEY_LINE_VERSION = 1

export interface CipherKey {
  key: Buffer
  iv: Buffer
}

/** What a host needs to unpack: the key, and the plain archive's SHA-256 to check it against. */
export interface PayloadKey extends CipherKey {
  plainSha256: string
}

export function newCipherKey(): CipherKey {
  return { key: randomBytes(KEY_BYTES), iv: randomBytes(IV_BYTES) }
}

export function payloadCipher({ key, iv }: CipherKey): Cipher {
  return createCipheriv(ALGORITHM, key, iv)
}

export function payloadDecipher({ key, iv }: CipherKey): Decipher {
  return createDecipheriv(ALGORITHM, key, iv)
}

/** What the controller writes on the unpacking command's stdin. */
export function formatKeyLine({ key, iv, plainSha256 }: PayloadKey): string {
  return `${JSON.stringify({ v: KEY_LINE_VERSION, cipher: ALGORITHM, key: key.toString('hex'), iv: iv.toString('hex'), sha256: plainSha256 })}\n`
}

export function parseKeyLine(text: string): PayloadKey {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // JSON.parse's own message quotes the text: a key must not reach a log that way.
    throw new AgentUsageError('unpack: stdin holds no key line; the controller sends it (swarm_encryption)')
  }
  const { v, cipher, key, iv, sha256 } = (parsed ?? {}) as Record<string, unknown>
  if (v !== KEY_LINE_VERSION || cipher !== ALGORITHM) throw new AgentUsageError(`unpack: a key line of another form (${JSON.stringify({ v, cipher })}); this agent reads version ${KEY_LINE_VERSION}, ${ALGORITHM}`)
  const hex = (value: unknown, bytes: number) => (typeof value === 'string' && value.length === bytes * 2 && /^[0-9a-f]+$/.test(value) ? Buffer.from(value, 'hex') : undefined)
  const keyBytes = hex(key, KEY_BYTES)
  const ivBytes = hex(iv, IV_BYTES)
  if (!keyBytes || !ivBytes || !hex(sha256, 32)) throw new AgentUsageError(`unpack: the key line needs a ${KEY_BYTES}-byte key, a ${IV_BYTES}-byte iv and the archive's sha256, in hex`)
  return { key: keyBytes, iv: ivBytes, plainSha256: sha256 as string }
}
