// Azureus-style peer ids that say the role: `-MS0100-…` for the seeder, `-MP0100-…` for peers, so a
// peer can count the bytes that came from the seeder whatever address the connection shows. Pure.
import { randomBytes } from 'node:crypto'
import { AGENT_VERSION } from '../protocol.ts'

export type SwarmRole = 'seed' | 'peer'

const VERSION_DIGITS = AGENT_VERSION.replace(/\./g, '').padEnd(4, '0').slice(0, 4)
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

function prefix(role: SwarmRole): string {
  return `-M${role === 'seed' ? 'S' : 'P'}${VERSION_DIGITS}-`
}

/** 20 bytes as hex, as webtorrent takes it. */
export function makePeerId(role: SwarmRole, random: (size: number) => Uint8Array = randomBytes): string {
  const tail = [...random(12)].map((byte) => ALPHABET[byte % ALPHABET.length]).join('')
  return Buffer.from(prefix(role) + tail, 'latin1').toString('hex')
}

export function isSeederPeerId(peerIdHex: string | null | undefined): boolean {
  if (!peerIdHex) return false
  return Buffer.from(peerIdHex.slice(0, 16), 'hex').toString('latin1').startsWith('-MS')
}
