// `unpack`: an encrypted payload (payload-cipher.ts) decrypted as it is read, straight into tar:
// the plain archive never lands on the host's disk. The key is the line on stdin.
import { spawn } from 'node:child_process'
import { open, type FileHandle } from 'node:fs/promises'
import type { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { AgentError } from './errors.ts'
import { parseKeyLine, payloadDecipher, type PayloadKey } from './payload-cipher.ts'

/** A key line is about 150 bytes; anything this long is not one. */
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
 * little more than extracting does. Prints nothing: the controller runs it inside the shell command
 * that extracts the release.
 */
export async function unpackPayload(payload: string, into: string, key: PayloadKey): Promise<void> {
  const file = await open(payload, 'r').catch((error: Error) => {
    throw new AgentError(`cannot read ${payload}: ${error.message}`)
  })
  try {
    const tar = spawn('tar', ['-xf', '-', '-C', into], { stdio: ['pipe', 'ignore', 'pipe'] })
    let tarSaid = ''
    // Its first line says why; the last is "Exiting with failure status due to previous errors".
    tar.stderr.setEncoding('utf8').on('data', (text: string) => (tarSaid = (tarSaid + text).slice(0, 2000)))
    const ended = new Promise<number | null>((resolve, reject) => {
      tar.once('error', reject)
      tar.once('close', resolve)
    })
    const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES })
    // tar's end (a bad archive, a full disk) breaks the pipe: its exit status says why, below.
    const feeding = feed(file, payload, key, gunzip).catch((error: unknown) => {
      gunzip.destroy()
      throw error
    })
    const [fed, inflated] = await Promise.allSettled([feeding, pipeline(gunzip, tar.stdin)])
    if (fed.status === 'rejected' || inflated.status === 'rejected') tar.kill()
    const code = await ended.catch((error: Error) => {
      throw new AgentError(`cannot run tar on this host (${error.message}); install tar, which the deploy needs to unpack a release.`)
    })
    if (fed.status === 'rejected' && fed.reason instanceof AgentError) throw fed.reason
    // tar ends once it reads the archive's end, leaving the padding after it unread (so the pipe
    // may break): its success is the archive's. A damaged stream stops gzip first, and tar, cut off, says less.
    if (code === 0) return
    const inflateError = inflated.status === 'rejected' ? (inflated.reason as NodeJS.ErrnoException) : undefined
    const why = inflateError?.code?.startsWith('Z_') ? `gzip: ${inflateError.message}` : (tarSaid.trim().split('\n')[0] ?? '') || `tar exited ${String(code)}`
    throw new AgentError(`cannot unpack ${payload} into ${into}: ${why}`)
  } finally {
    await file.close()
  }
}

/** Decrypts the file into `sink` a large chunk at a time, through one reused read buffer. */
async function feed(file: FileHandle, payload: string, key: PayloadKey, sink: Writable): Promise<void> {
  const decipher = payloadDecipher(key)
  const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES)
  let isFirst = true
  for (;;) {
    const { bytesRead } = await file.read(buffer, 0, READ_CHUNK_BYTES, null).catch((error: Error) => {
      throw new AgentError(`cannot read ${payload}: ${error.message}`)
    })
    if (bytesRead === 0) break
    const plain = decipher.update(buffer.subarray(0, bytesRead))
    if (isFirst && !GZIP_MAGIC.every((byte, i) => plain[i] === byte)) throw new AgentError(`${payload} did not decrypt to a gzip archive: the key does not match it; deploy again.`)
    isFirst = false
    if (sink.destroyed || (!sink.write(plain) && !(await drained(sink)))) throw new Error('the unpacking stopped')
  }
  if (isFirst) throw new AgentError(`${payload} is empty; deploy again.`)
  sink.end(decipher.final())
}

/** Whether `sink` takes more: true once it drains, false if it closes first (it failed, or tar ended). */
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
