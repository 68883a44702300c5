import { readFile } from 'node:fs/promises'
import parseTorrent from 'parse-torrent'
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
  sha256: string
  announce: string
}

export async function readTorrentMeta(path: string): Promise<TorrentMeta> {
  const file = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new AgentError(
      error.code === 'ENOENT'
        ? `torrent ${path} does not exist on this host; run murder:create_torrent (and murder:download_torrent) first.`
        : `cannot read torrent ${path}: ${error.message}`
    )
  })
  const parsed = await parseTorrent(file).catch((error: unknown) => {
    throw new AgentError(`${path} is not a torrent file (${error instanceof Error ? error.message : String(error)}); run murder:create_torrent again.`)
  })
  const sha256 = parseSha256Comment(parsed.comment)
  const announce = parsed.announce[0]
  if (sha256 === undefined || announce === undefined) {
    throw new AgentError(`${path} was not made by murder (no murder-sha256 comment or no tracker); run murder:create_torrent again.`)
  }
  return {
    file,
    infoHash: parsed.infoHash,
    name: parsed.name,
    sizeBytes: parsed.length,
    pieceLengthBytes: parsed.pieceLength,
    pieces: parsed.pieces.length,
    sha256,
    announce,
  }
}
