// `unpack`: an encrypted payload (payload-cipher.ts) decrypted as it is read, straight into tar:
// the plain archive never lands on the host's disk. The key is the line on stdin.
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

/**
 * Decrypts and inflates here, and hands tar the plain tar stream (`tar -xf -`): as many processes and
 * pipes as `tar -xzf FILE` (gzip reading the file, tar reading gzip), so decrypting costs the host
 * little more than extracting does. Fails, as `tar -xzf` would, on a damaged gzip stream, and on
 * an archive whose SHA-256 is not the controller's, found once tar has written it: the command
 * that runs this empties the target then. tar's warnings pass through; nothing else is printed.
 */
export async function unpackPayload(payload: string, into: string, key: PayloadKey): Promise<void> {
  const file = await open(payload, 'r').catch((error: Error) => {
    throw new AgentError(`cannot read ${payload}: ${error.message}`)
  })
  try {
    const tar = spawn('tar', ['-xf', '-', '-C', into], { stdio: ['pipe', 'ignore', 'pipe'] })
    let tarSaid = ''
    tar.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk)
      if (tarSaid.length < 2000) tarSaid += chunk.toString('utf8')
    })
    const ended = new Promise<number | null | Error>((resolve) => {
      tar.once('error', resolve)
      tar.once('close', (code: number | null) => resolve(code))
    })
    // tar stops reading at the archive's end, before the padding after it: the pipe may break.
    tar.stdin.on('error', () => {})
    const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES })
    const feeding = feed(file, payload, key, gunzip).catch((error: unknown) => {
      gunzip.destroy()
      throw error
    })
    const [fed, inflated] = await Promise.allSettled([feeding, forwardWhileRead(gunzip, tar.stdin)])
    const failure = whyNot(payload, key, fed, inflated)
    // Only a failure of ours stops tar; otherwise its own exit says whether the archive was whole.
    if (failure) tar.kill()
    const code = await ended
    if (code instanceof Error) throw new AgentError(`cannot run tar on this host (${code.message}); install tar, which the deploy needs to unpack a release.`)
    if (failure) throw new AgentError(failure.startsWith(payload) ? failure : `cannot unpack ${payload} into ${into}: ${failure}`)
    if (code !== 0) throw new AgentError(`cannot unpack ${payload} into ${into}: ${tarSaid.trim().split('\n')[0] || `tar exited ${String(code)}`}`)
  } finally {
    await file.close()
  }
}

/** The first thing wrong, in the order that explains the rest: our read or key, gzip's stream, the checksum. */
function whyNot(payload: string, key: PayloadKey, fed: PromiseSettledResult<string>, inflated: PromiseSettledResult<void>): string | undefined {
  if (fed.status === 'rejected' && fed.reason instanceof AgentError) return fed.reason.message
  const inflateError = inflated.status === 'rejected' ? (inflated.reason as NodeJS.ErrnoException) : undefined
  if (inflateError?.code?.startsWith('Z_')) return `gzip: ${inflateError.message}`
  if (fed.status === 'rejected') return (fed.reason as Error).message
  if (inflateError) return inflateError.message
  if (fed.status === 'fulfilled' && fed.value !== key.plainSha256) {
    return `${payload} did not decrypt to the release the controller sent (sha256 ${fed.value}, not ${key.plainSha256}): the key does not match it, or the payload changed on this host; deploy again.`
  }
  return undefined
}

/** Decrypts the file into `sink` a large chunk at a time, through one reused read buffer; returns the plain archive's SHA-256. */
async function feed(file: FileHandle, payload: string, key: PayloadKey, sink: Writable): Promise<string> {
  const decipher = payloadDecipher(key)
  const hash = createHash('sha256')
  const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES)
  let isFirst = true
  for (;;) {
    const { bytesRead } = await file.read(buffer, 0, READ_CHUNK_BYTES, null).catch((error: Error) => {
      throw new AgentError(`cannot read ${payload}: ${error.message}`)
    })
    if (bytesRead === 0) break
    const plain = decipher.update(buffer.subarray(0, bytesRead))
    // Said before tar sees a byte: most wrong keys fail here; the rest, at the checksum.
    if (isFirst && !GZIP_MAGIC.every((byte, i) => plain[i] === byte)) throw new AgentError(`${payload} did not decrypt to a gzip archive: the key does not match it; deploy again.`)
    isFirst = false
    hash.update(plain)
    if (sink.destroyed || (!sink.write(plain) && !(await drained(sink)))) throw new Error('the unpacking stopped')
  }
  if (isFirst) throw new AgentError(`${payload} is empty; deploy again.`)
  const last = decipher.final()
  hash.update(last)
  sink.end(last)
  return hash.digest('hex')
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
