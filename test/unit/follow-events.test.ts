import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { followEvents } from '../../lib/torrent/agent/follow-events.ts'
import { formatEvent, type AgentEvent } from '../../lib/torrent/protocol.ts'
import type { PidRecord } from '../../lib/torrent/agent/state-files.ts'

/** A stand-in daemon: a real process whose pid record matches its command line. */
function startStandIn(): { record: PidRecord; stop: () => void } {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' })
  const record: PidRecord = { pid: child.pid ?? 0, kind: 'peer', tag: 'T', argv: ['30'], startedAt: new Date().toISOString() }
  return { record, stop: () => child.kill('SIGKILL') }
}

/** Runs `body` with an empty events file and a live stand-in daemon; cleans both up. */
async function withEventsFile(body: (path: string, daemon: ReturnType<typeof startStandIn>) => Promise<void>): Promise<void> {
  const dir = mkdtempSync('/tmp/murder-follow-')
  const path = join(dir, 'events.jsonl')
  writeFileSync(path, '')
  const daemon = startStandIn()
  try {
    await body(path, daemon)
  } finally {
    daemon.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

const progress: AgentEvent = { type: 'progress', downloadedBytes: 1, totalBytes: 2, uploadedBytes: 0, fromSeederBytes: 1, fromPeersBytes: 0, downRateBps: 0, upRateBps: 0, wires: 1 }

test('a follower gets an event appended to the file at once, not at its next look', () =>
  withEventsFile(async (path, daemon) => {
    const seen: { type: string; seenAt: number; message?: string }[] = []
    const onEvent = (event: AgentEvent) => {
      seen.push({ type: event.type, seenAt: Date.now(), ...(event.type === 'failed' ? { message: event.message } : {}) })
      return event.type === 'failed'
    }
    const following = followEvents(path, { record: daemon.record, silenceLimitMs: 10_000, onEvent })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const appendedAt = Date.now()
    appendFileSync(path, `${formatEvent(progress)}\n`)
    // A line written in two pieces, cut inside a multi-byte character, is read whole.
    const failed = Buffer.from(`${formatEvent({ type: 'failed', message: 'disk full on /srv/dépôt' })}\n`)
    const cut = failed.indexOf(Buffer.from('é')) + 1
    appendFileSync(path, failed.subarray(0, cut))
    await new Promise((resolve) => setTimeout(resolve, 50))
    appendFileSync(path, failed.subarray(cut))
    assert.equal(await following, 'ended')
    assert.deepEqual(seen.map((event) => event.type), ['progress', 'failed'])
    assert.equal(seen[1]?.message, 'disk full on /srv/dépôt')
    // Its next look would be a second later (ALIVE_CHECK_MS).
    const delayMs = (seen[0]?.seenAt ?? Infinity) - appendedAt
    assert.ok(delayMs < 250, `the event was seen ${delayMs} ms after it was appended`)
  }))

test('a follower notices its daemon has gone even when the file stays quiet', () =>
  withEventsFile(async (path, daemon) => {
    setTimeout(daemon.stop, 200)
    const started = Date.now()
    const end = await followEvents(path, { record: daemon.record, silenceLimitMs: 10_000, onEvent: () => false })
    assert.equal(end, 'daemon-exited')
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`)
  }))
