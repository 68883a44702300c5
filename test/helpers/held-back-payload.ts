// A payload whose unpacking cannot finish until the test lets it: a FIFO at the payload's path, fed
// the first part of a real tgz by a shell that then waits. A test that stops an unpacking half-way
// then does not depend on a large archive outlasting a poll: tar has written part of the release,
// and waits for the rest, until `finish()` ends the stream (after the test's stop).
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export interface HeldBackPayload {
  /** Ends the stream where it stands (the archive cut short), so the unpacking's reads return; call it in a finally too. */
  finish(): void
}

/** Makes `path` a FIFO serving the first part of a two-file tgz; the rest never comes. */
export function heldBackPayload(path: string): HeldBackPayload {
  const source = join(dirname(path), `${Date.now()}-held-back-source`)
  mkdirSync(source, { recursive: true })
  // Incompressible: the part served holds the first file whole and the second one begun.
  for (const name of ['a.bin', 'b.bin']) writeFileSync(join(source, name), randomBytes(1024 * 1024))
  const tgz = `${source}.tgz`
  execFileSync('tar', ['-czf', tgz, '-C', source, 'a.bin', 'b.bin'])
  rmSync(source, { recursive: true })
  const served = Math.floor((statSync(tgz).size * 3) / 4)
  rmSync(path, { force: true })
  execFileSync('mkfifo', [path])
  // The shell opens the archive and removes it (an open file stays readable), opens the FIFO (which
  // waits for its reader), writes, then holds the FIFO open until killed.
  const writer = spawn('sh', ['-c', 'exec 4<"$3" && rm -f "$3" && exec 3>"$1" && head -c "$2" <&4 >&3 && exec sleep 600', 'sh', path, String(served), tgz], { stdio: 'ignore', detached: true })
  writer.on('error', () => {})
  return {
    finish() {
      // Its group: `head` too, should it still be writing.
      if (writer.pid !== undefined && writer.exitCode === null) {
        try {
          process.kill(-writer.pid, 'SIGKILL')
        } catch {
          // Gone already.
        }
      }
    },
  }
}

/** Resolves once tar has written into `dir` (the unpacking is under way, half-way at most: the rest is held back); fails after 10 s. */
export async function untilWritingBegins(dir: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!hasBegunWriting(dir)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for tar to write into ${dir}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function hasBegunWriting(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0
  } catch {
    return false
  }
}
