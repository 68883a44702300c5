import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { countersOf, formatEvent, parseEvent, TRANSFER_ENV_SCRIPT, TRANSFER_GLIBC_TUNABLES, withTransferTunables, type AgentEvent } from '../../lib/torrent/protocol.ts'

const HASH = 'a'.repeat(40)
const SHA = 'b'.repeat(64)
const COUNTERS = { downloadedBytes: 5, totalBytes: 10, uploadedBytes: 1, fromSeederBytes: 2, fromPeersBytes: 3, downRateBps: 4, upRateBps: 0, wires: 2 }

test('every event survives formatEvent → parseEvent, on one line', () => {
  const events: AgentEvent[] = [
    { type: 'started', kind: 'tracker', pid: 42, port: 8998 },
    { type: 'started', kind: 'seed', pid: 43, tag: 'T', port: 6881, infoHash: HASH },
    { type: 'torrent', infoHash: HASH, sha256: SHA, sizeBytes: 10, pieceLengthBytes: 262144, pieces: 1, payloadPath: '/tmp/T.tgz', torrentPath: '/tmp/T.tgz.torrent' },
    { type: 'allowed', infoHash: HASH },
    { type: 'progress', ...COUNTERS },
    { type: 'done', ...COUNTERS, elapsedMs: 1200, sha256: SHA },
    { type: 'failed', message: 'tracker http://10.0.0.1:8998/announce not reachable: connect ECONNREFUSED' },
    { type: 'stopped', stopped: [{ kind: 'peer', tag: 'T', pid: 7 }], stale: [], notRunning: false },
    { type: 'status', running: [{ kind: 'tracker', pid: 9 }], stale: [{ kind: 'seed', tag: 'T', pid: 10 }], stats: [] },
    { type: 'version', agentVersion: '0.1.0', nodeVersion: '20.20.2' },
  ]
  for (const event of events) {
    const line = formatEvent(event)
    assert.ok(!line.includes('\n'), event.type)
    assert.deepEqual(parseEvent(line), event, event.type)
  }
})

test('parseEvent rejects what is not a well-formed event', () => {
  const lines: [string, string][] = [
    ['', 'empty'],
    ['hello', 'log line'],
    ['{"type":"progress"', 'torn line'],
    ['[1,2]', 'array'],
    ['{"type":"unknown"}', 'unknown type'],
    ['{"type":"started","kind":"db","pid":1}', 'unknown kind'],
    ['{"type":"torrent","infoHash":"XYZ","sha256":"b","sizeBytes":1,"pieces":1}', 'bad hash'],
    [`{"type":"progress",${JSON.stringify(COUNTERS).slice(1, -1).replace('"wires":2', '"wires":-1')}}`, 'negative counter'],
    ['{"type":"failed"}', 'failed without message'],
    ['{"type":"stopped","stopped":[{"kind":"peer"}],"stale":[],"notRunning":true}', 'ref without pid'],
  ]
  for (const [line, what] of lines) assert.equal(parseEvent(line), undefined, what)
})

test('countersOf reads progress and done events, zeros otherwise', () => {
  assert.deepEqual(countersOf({ type: 'progress', ...COUNTERS }), COUNTERS)
  assert.deepEqual(countersOf({ type: 'done', ...COUNTERS, elapsedMs: 1, sha256: SHA }), COUNTERS)
  assert.equal(countersOf({ type: 'failed', message: 'x' }).downloadedBytes, 0)
})

test('withTransferTunables: ours when the host sets none', () => {
  assert.equal(withTransferTunables(undefined), TRANSFER_GLIBC_TUNABLES)
  assert.equal(withTransferTunables(''), TRANSFER_GLIBC_TUNABLES)
})

test("withTransferTunables: a host's own tunables after ours, so that glibc applies theirs last, and ours never twice", () => {
  const once = withTransferTunables('glibc.malloc.arena_max=2')
  assert.equal(once, `${TRANSFER_GLIBC_TUNABLES}:glibc.malloc.arena_max=2`)
  assert.equal(withTransferTunables(once), once)
})

test('TRANSFER_ENV_SCRIPT runs the command with the same value, the host value after ours, its arguments intact', () => {
  const run = (env: Record<string, string>) =>
    execFileSync('sh', ['-c', TRANSFER_ENV_SCRIPT, 'sh', '-c', 'printf "%s|%s" "$GLIBC_TUNABLES" "$1"', 'name', "an 'argument' with $HOME"], { encoding: 'utf8', env })
  assert.equal(run({}), `${withTransferTunables(undefined)}|an 'argument' with $HOME`)
  assert.equal(run({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }), `${withTransferTunables('glibc.malloc.arena_max=2')}|an 'argument' with $HOME`)
})
