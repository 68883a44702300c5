import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatPidRecord, isSameCommandLine, parsePidFileName, parsePidRecord, processFiles, type PidRecord } from '../../lib/torrent/agent/state-files.ts'

test('each daemon has its pid, log, events and stats file in the run directory', () => {
  assert.deepEqual(processFiles('/srv/m/run', 'tracker'), {
    pid: '/srv/m/run/tracker.pid',
    log: '/srv/m/run/tracker.log',
    events: '/srv/m/run/tracker.events.jsonl',
    stats: '/srv/m/run/tracker.stats.json',
  })
  assert.equal(processFiles('/srv/m/run', 'seed', 'D1').pid, '/srv/m/run/seed.D1.pid')
  assert.equal(processFiles('/srv/m/run', 'peer', 'v1.2').stats, '/srv/m/run/peer.v1.2.stats.json')
})

test('pid file names parse back to kind and tag', () => {
  const cases: [string, ReturnType<typeof parsePidFileName>][] = [
    ['tracker.pid', { kind: 'tracker' }],
    ['seed.D1.pid', { kind: 'seed', tag: 'D1' }],
    ['peer.v1.2.pid', { kind: 'peer', tag: 'v1.2' }],
    ['peer..pid', undefined],
    ['seed.D1.log', undefined],
    ['tracker.events.jsonl', undefined],
    ['db.x.pid', undefined],
  ]
  for (const [name, expected] of cases) assert.deepEqual(parsePidFileName(name), expected, name)
})

const RECORD: PidRecord = { pid: 4242, kind: 'peer', tag: 'D1', argv: ['/srv/m/murder-agent.cjs', 'daemon', 'peer', '--tag', 'D1'], startedAt: '2025-01-01T00:00:00.000Z' }

test('pid records round-trip; anything else is not a record', () => {
  assert.deepEqual(parsePidRecord(formatPidRecord(RECORD)), RECORD)
  // A `peer --hold` that is its own daemon records its arguments apart from its command line.
  const held: PidRecord = { ...RECORD, argv: ['/srv/m/murder-agent.cjs', 'peer', '--tag', 'D1', '--hold'], daemonArgs: ['--tag', 'D1'] }
  assert.deepEqual(parsePidRecord(formatPidRecord(held)), held)
  assert.equal(parsePidRecord(formatPidRecord(held).replace('"daemonArgs":["--tag","D1"]', '"daemonArgs":[1]'))?.daemonArgs, undefined)
  // A transfer's daemon records the torrent it serves: the same tag packed again is another transfer.
  const serving: PidRecord = { ...held, infoHash: 'ab'.repeat(20) }
  assert.deepEqual(parsePidRecord(formatPidRecord(serving)), serving)
  for (const text of ['', '4242', '{"pid":1,"kind":"peer","argv":[]}', '{"pid":"7","kind":"peer","argv":[]}', '{"pid":7,"kind":"db","argv":[]}', '{"pid":7,"kind":"seed","argv":[1]}']) {
    assert.equal(parsePidRecord(text), undefined, text)
  }
})

test('a pid is our daemon only while its command line is the recorded one (argv[0] aside)', () => {
  const cases: [string, boolean][] = [
    ['/usr/bin/node\0/srv/m/murder-agent.cjs\0daemon\0peer\0--tag\0D1\0', true],
    ['node\0/srv/m/murder-agent.cjs\0daemon\0peer\0--tag\0D1', true],
    ['/usr/bin/node\0/srv/m/murder-agent.cjs\0daemon\0peer\0--tag\0D2\0', false],
    ['/usr/bin/node\0/srv/m/murder-agent.cjs\0daemon\0peer\0--tag\0D1\0--extra\0', false],
    ['/usr/sbin/sshd\0-D\0', false],
    ['', false],
  ]
  for (const [cmdline, expected] of cases) assert.equal(isSameCommandLine(RECORD, cmdline), expected, JSON.stringify(cmdline))
})
