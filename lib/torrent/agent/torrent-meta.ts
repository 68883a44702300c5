// Reads a torrent with the bencode package alone: parse-torrent would also load a fetch ponyfill,
// http, https and zlib, a fifth of the start-up of every short agent command on every host.
import bencode from 'bencode'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { AgentError } from './errors.ts'
import { parseSha256Comment } from './torrent-file.ts'

/** What the seeder and peers need from a torrent made by `make-torrent`. */
export interface TorrentMeta {
  file: Uint8Array
  infoHash: string
  name: string
  sizeBytes: number
  pieceLengthBytes: number
  pieces: number
  /** SHA-1 of each piece, concatenated (20 bytes per piece). */
  pieceHashes: Uint8Array
  sha256: string
  announce: string
}

export async function readTorrentMeta(path: string): Promise<TorrentMeta> {
  const file = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new AgentError(
      error.code === 'ENOENT'
        ? `torrent ${path} does not exist on this host; run murder:create_torrent first.`
        : `cannot read torrent ${path}: ${error.message}`
    )
  })
  const parsed = parse(file, path)
  const sha256 = parseSha256Comment(parsed.comment)
  if (sha256 === undefined || parsed.announce === undefined) {
    throw new AgentError(`${path} was not made by murder (no murder-sha256 comment or no tracker); run murder:create_torrent again.`)
  }
  return {
    file,
    infoHash: parsed.infoHash,
    name: parsed.name,
    sizeBytes: parsed.length,
    pieceLengthBytes: parsed.pieceLength,
    pieces: parsed.pieceHashes.length / 20,
    pieceHashes: parsed.pieceHashes,
    sha256,
    announce: parsed.announce,
  }
}

interface SingleFileTorrent {
  infoHash: string
  name: string
  length: number
  pieceLength: number
  pieceHashes: Uint8Array
  comment: string | undefined
  announce: string | undefined
}

/** The fields of a single-file torrent (what make-torrent writes); throws AgentError on anything else. */
function parse(file: Uint8Array, path: string): SingleFileTorrent {
  const refuse = (why: string) => new AgentError(`${path} is not a torrent file (${why}); run murder:create_torrent again.`)
  let torrent: unknown
  try {
    torrent = bencode.decode(file)
  } catch (error) {
    throw refuse(error instanceof Error ? error.message : String(error))
  }
  const info = isDictionary(torrent) ? torrent['info'] : undefined
  if (!isDictionary(torrent) || !isDictionary(info)) throw refuse('no info dictionary')
  const { name, length, 'piece length': pieceLength, pieces } = info
  // An empty payload makes a torrent of length 0 and no pieces, which make-torrent writes too.
  const isLength = typeof length === 'number' && Number.isSafeInteger(length) && length >= 0
  if (!(name instanceof Uint8Array) || !isLength || !isCount(pieceLength) || !(pieces instanceof Uint8Array) || pieces.length % 20 !== 0) {
    throw refuse('not a single-file torrent with name, length, piece length and pieces')
  }
  return {
    infoHash: createHash('sha1').update(bencode.encode(info)).digest('hex'),
    name: Buffer.from(name).toString('utf8'),
    length,
    pieceLength,
    pieceHashes: pieces,
    comment: text(torrent['comment']),
    announce: text(torrent['announce']),
  }
}

function isDictionary(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !Array.isArray(value)
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0
}

function text(value: unknown): string | undefined {
  return value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : undefined
}
