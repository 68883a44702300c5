// A release written in a shared temp directory (/tmp) goes only into a file of the SSH user's own:
// never through a link another user put at its predictable name, nor into their file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chownSync, linkSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { preparePayload } from '../../lib/torrent/agent/peer.ts'
import { privateFileCommand } from '../../lib/ssh/command.ts'
import type { TorrentMeta } from '../../lib/torrent/agent/torrent-meta.ts'

const meta = { sizeBytes: 4 } as TorrentMeta
const NOBODY = 65534

function inScratch(body: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'murder-private-'))
  return Promise.resolve(body(dir)).finally(() => rmSync(dir, { recursive: true, force: true }))
}

/** Plants `link(file, payload)` and checks the peer refuses the payload, leaving the file as it was. */
async function assertNotWrittenThrough(dir: string, link: (file: string, payload: string) => void, refusal: RegExp): Promise<void> {
  const victim = join(dir, 'victim.txt')
  writeFileSync(victim, 'keep me', { mode: 0o644 })
  const payload = join(dir, 'app-1.tgz')
  link(victim, payload)
  await assert.rejects(preparePayload(payload, meta), refusal)
  assert.equal(readFileSync(victim, 'utf8'), 'keep me')
  assert.equal(statSync(victim).mode & 0o777, 0o644)
}

test("a peer's payload: a planted link is not followed, another user's file not written; its own is cut to size, 0600", () =>
  inScratch(async (dir) => {
    await assertNotWrittenThrough(dir, symlinkSync, /is a symbolic link; it is not followed/)
    if (process.getuid?.() === 0) {
      const foreign = join(dir, 'app-2.tgz')
      writeFileSync(foreign, 'theirs', { mode: 0o666 })
      chownSync(foreign, NOBODY, NOBODY)
      await assert.rejects(preparePayload(foreign, meta), /belongs to another user \(uid 65534\)/)
      assert.equal(readFileSync(foreign, 'utf8'), 'theirs')
    }
    const own = join(dir, 'app-3.tgz')
    writeFileSync(own, 'left by an earlier run', { mode: 0o644 })
    await preparePayload(own, meta)
    assert.equal(statSync(own).size, 4)
    assert.equal(statSync(own).mode & 0o777, 0o600)
    const fresh = join(dir, 'app-4.tgz')
    await preparePayload(fresh, meta)
    assert.equal(lstatSync(fresh).mode & 0o777, 0o600)
  }))

test('the upload target on a host: a new private file, made through no link', () =>
  inScratch((dir) => {
    const run = (path: string) => execFileSync('sh', ['-c', privateFileCommand(path)], { stdio: 'pipe' })
    const target = join(dir, "it's.tgz")
    writeFileSync(target, 'stale')
    run(target)
    assert.equal(statSync(target).size, 0)
    assert.equal(statSync(target).mode & 0o777, 0o600)
    // A link put there between the removal and the create would not be followed: noclobber fails on it.
    const victim = join(dir, 'victim')
    writeFileSync(victim, 'keep')
    const linked = join(dir, 'linked.tgz')
    symlinkSync(victim, linked)
    execFileSync('sh', ['-c', `(umask 077 && set -C && : > '${linked}') 2>/dev/null || true`])
    assert.equal(readFileSync(victim, 'utf8'), 'keep')
  }))

test("a peer's payload that is a hard link to another file (one of the user's own) is not written", () =>
  inScratch((dir) => assertNotWrittenThrough(dir, linkSync, /is not a file of its own \(2 hard links\)/)))
