// `peer --torrent-from-stdin BYTES`: the controller sends the torrent as the first bytes of the
// command's stdin rather than in a command of its own before it (an sshd session per host:
// a fork and a shell there, a round trip for the controller). What follows on stdin stays unread
// for the held command's stop line (hold.ts, foreground-daemon.ts).
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Readable } from 'node:stream'
import { AgentError } from './errors.ts'

/** Largest torrent accepted on stdin: a 100 GiB payload in 256 KiB pieces needs 8 MB of hashes. */
export const MAX_TORRENT_BYTES = 64 * 1024 * 1024

/** Reads the torrent from `input` and writes it to `path` whole (a reader never sees half of it). */
export async function receiveTorrent(path: string, size: number, input: Readable): Promise<void> {
  const torrent = await readExactly(input, size)
  const part = `${path}.part-${process.pid}`
  try {
    await mkdir(dirname(path), { recursive: true })
    // A new file, the SSH user's alone: never one another user put at this name first, nor a link.
    await rm(part, { force: true })
    await writeFile(part, torrent, { flag: 'wx', mode: 0o600 })
    await rename(part, path)
  } catch (error) {
    await rm(part, { force: true }).catch(() => {})
    throw new AgentError(`cannot write the torrent to ${path}: ${(error as Error).message}; check temp_path there.`)
  }
}

/** The first `size` bytes of `input`, leaving the rest in it for later readers. */
export function readExactly(input: Readable, size: number): Promise<Buffer> {
  if (size === 0) return Promise.resolve(Buffer.alloc(0))
  return new Promise<Buffer>((resolve, reject) => {
    const settle = (finish: () => void) => {
      input.removeListener('readable', onReadable)
      input.removeListener('end', onEnd)
      input.removeListener('close', onEnd)
      input.removeListener('error', onError)
      finish()
    }
    // read(size) returns null until `size` bytes are buffered, then exactly those; at the end, whatever is left.
    const onReadable = () => {
      const chunk: Buffer | null = input.read(size)
      if (chunk === null) return
      if (chunk.length === size) settle(() => resolve(chunk))
      else settle(() => reject(shortTorrent(chunk.length, size)))
    }
    const onEnd = () => settle(() => reject(shortTorrent(0, size)))
    const onError = (error: Error) => settle(() => reject(new AgentError(`cannot read the torrent on stdin: ${error.message}`)))
    input.on('readable', onReadable)
    input.once('end', onEnd)
    // A stream destroyed without an end or an error only closes.
    input.once('close', onEnd)
    input.once('error', onError)
  })
}

function shortTorrent(got: number, size: number): AgentError {
  return new AgentError(`stdin ended after ${got} of the torrent's ${size} bytes (--torrent-from-stdin); the controller's connection was cut, run the task again.`)
}
