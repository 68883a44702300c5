// Unpacking a payload into a directory: an encrypted one (payload-cipher.ts) decrypted as it is
// read, straight into tar, so that the plain archive never lands on the host's disk, or a plain tgz.
// Run by the `unpack` command (the key is the line on its stdin) and by a held transfer command
// asked to unpack what it holds (unpack-request.ts).
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { open, type FileHandle } from 'node:fs/promises'
import type { Readable, Transform, Writable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { AgentError } from './errors.ts'
import { parseKeyLine, payloadDecipher, type PayloadKey } from './payload-cipher.ts'

/** A key line is about 220 bytes; anything this long is not one. */
const MAX_KEY_LINE_BYTES = 4096
const GZIP_MAGIC = [0x1f, 0x8b]
const READ_CHUNK_BYTES = 1024 * 1024
const INFLATE_CHUNK_BYTES = 256 * 1024
const STOPPED = 'stopped before it finished (its peer or seeder was stopped, or the run asking for it ended); run it again'

/** An unpacking stopped half-way (`signal`): the target is not to be taken as complete. */
export function unpackStopped(payload: string, into: string): AgentError {
  return new AgentError(`cannot unpack ${payload} into ${into}: ${STOPPED}`)
}

export async function readKeyLine(input: Readable): Promise<PayloadKey> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of input as AsyncIterable<Buffer>) {
    chunks.push(chunk)
    size += chunk.length
    if (size > MAX_KEY_LINE_BYTES) break
  }
  return parseKeyLine(Buffer.concat(chunks).toString('utf8', 0, Math.min(size, MAX_KEY_LINE_BYTES)))
}

export interface UnpackOptions {
  /** The payload is encrypted with this key; without one it is the tgz itself. */
  key?: PayloadKey | undefined
  /** What tar says (its warnings); by default this process's stderr. */
  onTarOutput?: (chunk: Buffer) => void
  /** Stops the unpacking half-way (its daemon was stopped): tar is killed, and it fails. */
  signal?: AbortSignal
}

/**
 * Decrypts and inflates here, and hands tar the plain tar stream (`tar -xf -`): as many processes and
 * pipes as `tar -xzf FILE` (gzip reading the file, tar reading gzip), so decrypting costs the host
 * little more than extracting does, and Node's zlib inflates faster than Debian's gzip (35-40% on a
 * text release). Fails, as `tar -xzf` would, on a damaged gzip stream, and on an encrypted archive
 * whose SHA-256 is not the controller's, found once tar has written it: the caller empties the
 * target then. tar's warnings go to `onTarOutput`; nothing else is printed.
 */
export async function unpackPayload(payload: string, into: string, { key, onTarOutput = (chunk) => process.stderr.write(chunk), signal }: UnpackOptions = {}): Promise<void> {
  if (signal?.aborted) throw unpackStopped(payload, into)
  const file = await open(payload, 'r').catch((error: Error) => {
    throw new AgentError(`cannot read ${payload}: ${error.message}`)
  })
  try {
    const tar = spawn('tar', ['-xf', '-', '-C', into], { stdio: ['pipe', 'ignore', 'pipe'] })
    let tarSaid = ''
    tar.stderr.on('data', (chunk: Buffer) => {
      onTarOutput(chunk)
      tarSaid = (tarSaid + chunk.toString('utf8')).slice(-2000)
    })
    const ended = new Promise<number | null | Error>((resolve) => {
      tar.once('error', resolve)
      tar.once('close', (code: number | null) => resolve(code))
    })
    // tar stops reading at the archive's end, before the padding after it: the pipe may break.
    tar.stdin.on('error', () => {})
    const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES })
    const stop = () => gunzip.destroy(new Error(STOPPED))
    signal?.addEventListener('abort', stop, { once: true })
    const feeding = feed(file, payload, key, gunzip).catch((error: unknown) => {
      gunzip.destroy()
      throw error
    })
    const [fed, inflated] = await Promise.allSettled([feeding, forwardWhileRead(gunzip, tar.stdin)])
    signal?.removeEventListener('abort', stop)
    const failure = signal?.aborted ? STOPPED : whyNot(payload, key, fed, inflated)
    // Only a failure of ours stops tar; otherwise its own exit says whether the archive was whole.
    if (failure) tar.kill()
    const code = await ended
    if (code instanceof Error) throw new AgentError(`cannot run tar on this host (${code.message}); install tar, which the deploy needs to unpack a release.`)
    if (failure) throw new AgentError(failure.startsWith(payload) ? failure : `cannot unpack ${payload} into ${into}: ${failure}`)
    if (code !== 0) throw new AgentError(`cannot unpack ${payload} into ${into}: ${tarsReason(tarSaid) ?? `tar exited ${String(code)}`}`)
    // Stopped while tar wrote its last blocks: the caller must not take the target as complete.
    if (signal?.aborted) throw unpackStopped(payload, into)
  } finally {
    await file.close()
  }
}

/** tar's last word but its closing "Exiting with failure status" (a warning may come before the error). */
function tarsReason(said: string): string | undefined {
  return said
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/Exiting with failure status/.test(line))
    .at(-1)
}

/** The first thing wrong, in the order that explains the rest: our read or key, gzip's stream, the checksum. */
function whyNot(payload: string, key: PayloadKey | undefined, fed: PromiseSettledResult<string | undefined>, inflated: PromiseSettledResult<void>): string | undefined {
  if (fed.status === 'rejected' && fed.reason instanceof AgentError) return fed.reason.message
  const inflateError = inflated.status === 'rejected' ? (inflated.reason as NodeJS.ErrnoException) : undefined
  if (inflateError?.code?.startsWith('Z_')) return `gzip: ${inflateError.message}`
  if (fed.status === 'rejected') return (fed.reason as Error).message
  if (inflateError) return inflateError.message
  if (key && fed.status === 'fulfilled' && fed.value !== key.plainSha256) {
    return `${payload} did not decrypt to the release the controller sent (sha256 ${fed.value}, not ${key.plainSha256}): the key does not match it, or the payload changed on this host; deploy again.`
  }
  return undefined
}

/**
 * Reads the file into `sink` a large chunk at a time, decrypted with `key` through one reused read
 * buffer (each decrypted chunk is a fresh one), or as it is; returns the plain archive's SHA-256
 * when there is one to check.
 */
async function feed(file: FileHandle, payload: string, key: PayloadKey | undefined, sink: Writable): Promise<string | undefined> {
  const decipher = key && payloadDecipher(key)
  const hash = key && createHash('sha256')
  const shared = decipher && Buffer.allocUnsafe(READ_CHUNK_BYTES)
  let isFirst = true
  for (;;) {
    // A plain chunk goes to the sink as it is, which may hold it after the next read: a buffer each.
    const buffer = shared ?? Buffer.allocUnsafe(READ_CHUNK_BYTES)
    const { bytesRead } = await file.read(buffer, 0, READ_CHUNK_BYTES, null).catch((error: Error) => {
      throw new AgentError(`cannot read ${payload}: ${error.message}`)
    })
    if (bytesRead === 0) break
    const plain = decipher ? decipher.update(buffer.subarray(0, bytesRead)) : buffer.subarray(0, bytesRead)
    // Said before tar sees a byte: most wrong keys fail here; the rest, at the checksum.
    if (isFirst && !GZIP_MAGIC.every((byte, i) => plain[i] === byte)) {
      throw new AgentError(key ? `${payload} did not decrypt to a gzip archive: the key does not match it; deploy again.` : `${payload} is not a gzip archive; run murder:create_torrent (or deploy) again.`)
    }
    isFirst = false
    hash?.update(plain)
    if (sink.destroyed || (!sink.write(plain) && !(await drained(sink)))) throw new Error('the unpacking stopped')
  }
  if (isFirst) throw new AgentError(`${payload} is empty; ${key ? 'deploy' : 'run murder:create_torrent (or deploy)'} again.`)
  const last = decipher?.final()
  if (last) hash?.update(last)
  sink.end(last)
  return hash?.digest('hex')
}

/**
 * Passes the inflated stream to tar while tar reads it, and inflates the rest into nothing once
 * tar has stopped (at the archive's end): gzip's checksum, at the very end, is still checked.
 */
function forwardWhileRead(source: Transform, sink: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let isSinkOpen = true
    const stopForwarding = () => {
      isSinkOpen = false
      source.resume()
    }
    sink.once('close', stopForwarding)
    source.on('data', (chunk: Buffer) => {
      if (!isSinkOpen || sink.destroyed) return
      if (!sink.write(chunk)) {
        source.pause()
        sink.once('drain', () => source.resume())
      }
    })
    source.once('end', () => {
      if (isSinkOpen) sink.end()
      resolve()
    })
    source.once('error', reject)
    // Destroyed without an error: our own failure, said by feed().
    source.once('close', () => reject(new Error('the unpacking stopped')))
  })
}

/** Whether `sink` takes more: true once it drains, false if it closes first (it failed). */
function drained(sink: Writable): Promise<boolean> {
  if (sink.destroyed) return Promise.resolve(false)
  return new Promise<boolean>((resolve) => {
    const settle = (isDrained: boolean) => {
      sink.off('drain', onDrain)
      sink.off('close', onClose)
      resolve(isDrained)
    }
    const onDrain = () => settle(true)
    const onClose = () => settle(false)
    sink.on('drain', onDrain)
    sink.on('close', onClose)
  })
}
