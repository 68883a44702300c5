// `make-torrent`: packs the files (Murder's `tar -c --exclude .git*`), or copies a single file,
// into the payload, then writes its torrent. Files are written under a temporary name and renamed,
// so a crash never leaves a torrent that describes a half-written payload.
import { spawn } from 'node:child_process'
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createReadStream, createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { basename, dirname, relative } from 'node:path'
import { AGENT_VERSION, type AgentEvent } from '../protocol.ts'
import { AgentError } from './errors.ts'
import { digestPayload } from './payload-hash.ts'
import { buildTorrent, choosePieceLength } from './torrent-file.ts'

export interface MakeTorrentOptions {
  source: string
  tgz: string
  torrent: string
  announce: string
  isPathFile: boolean
}

export async function makeTorrent(options: MakeTorrentOptions): Promise<Extract<AgentEvent, { type: 'torrent' }>> {
  await checkSource(options)
  await mkdir(dirname(options.tgz), { recursive: true })
  await mkdir(dirname(options.torrent), { recursive: true })
  if (options.isPathFile) await copyPayload(options.source, options.tgz)
  else await packDirectory(options.source, options.tgz)

  const made = await torrentOfPayload(options.tgz, basename(options.tgz), options.announce)
  await writeAtomically(options.torrent, made.torrent)
  return { ...made.event, payloadPath: options.tgz, torrentPath: options.torrent }
}

/**
 * The torrent of a payload already packed, named `name` (TAG.tgz): make-torrent's on the seeder,
 * and the controller's own when it streams a release to the seeder (deploy_via murder).
 */
export async function torrentOfPayload(
  path: string,
  name: string,
  announce: string
): Promise<{ torrent: Uint8Array; event: Omit<Extract<AgentEvent, { type: 'torrent' }>, 'payloadPath' | 'torrentPath'> }> {
  const { size } = await stat(path)
  const pieceLengthBytes = choosePieceLength(size)
  const digest = await digestPayload(path, pieceLengthBytes)
  const { torrent, infoHash } = buildTorrent({
    name,
    announce,
    sha256: digest.sha256,
    sizeBytes: digest.sizeBytes,
    pieceLengthBytes,
    pieceHashes: digest.pieceHashes,
    createdAtMs: Date.now(),
    createdBy: `murder-agent/${AGENT_VERSION}`,
  })
  const event = { type: 'torrent' as const, infoHash, sha256: digest.sha256, sizeBytes: digest.sizeBytes, pieceLengthBytes, pieces: digest.pieceHashes.length / 20 }
  return { torrent, event }
}

async function checkSource(options: MakeTorrentOptions): Promise<void> {
  const info = await stat(options.source).catch(() => undefined)
  if (!info) throw new AgentError(`files_path ${options.source} does not exist on this host; check files_path.`)
  if (options.isPathFile && !info.isFile()) {
    throw new AgentError(`files_path ${options.source} is not a regular file; drop path_is_file=1 to pack a directory.`)
  }
  if (!options.isPathFile && !info.isDirectory()) {
    throw new AgentError(`files_path ${options.source} is not a directory; pass path_is_file=1 to distribute a single file.`)
  }
  if (!options.isPathFile && !relative(options.source, options.tgz).startsWith('..')) {
    throw new AgentError(`the payload ${options.tgz} would be inside files_path ${options.source}; use a temp_path outside it.`)
  }
}

async function copyPayload(source: string, tgz: string): Promise<void> {
  if (source === tgz) return
  const partial = partialName(tgz)
  try {
    // Into a file made with its mode (copyFile would give the copy the source's): never readable by others.
    await pipeline(createReadStream(source), createWriteStream(partial, { flags: 'wx', mode: PAYLOAD_MODE }))
    await rename(partial, tgz)
  } finally {
    await rm(partial, { force: true })
  }
}

/** The payload may hold secrets (a release's config): the SSH user's alone on a host others share. */
const PAYLOAD_MODE = 0o600

async function packDirectory(source: string, tgz: string): Promise<void> {
  const partial = partialName(tgz)
  try {
    // Made first with its mode, and only by us (`wx`): tar keeps an existing file's.
    await writeFile(partial, '', { mode: PAYLOAD_MODE, flag: 'wx' })
    await run('tar', ['-czf', partial, '--exclude=.git*', '-C', source, '.'])
    await rename(partial, tgz)
  } finally {
    await rm(partial, { force: true })
  }
}

async function writeAtomically(path: string, data: Uint8Array): Promise<void> {
  const partial = partialName(path)
  await rm(partial, { force: true })
  await writeFile(partial, data, { flag: 'wx', mode: PAYLOAD_MODE })
  await rename(partial, path)
}

function partialName(path: string): string {
  return `${path}.partial-${process.pid}`
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-4000)
    })
    child.on('error', (error) => reject(new AgentError(`${command} could not run: ${error.message}; install ${command} on this host.`)))
    child.on('close', (code) => {
      if (code === 0) return resolve()
      const last = stderr.trim().split('\n').at(-1) ?? ''
      reject(new AgentError(`${command} ${args.join(' ')} exited ${code}${last ? `: ${last}` : ''}`))
    })
  })
}
