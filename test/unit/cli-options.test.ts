import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseOptions, type OptionSpec } from '../../lib/torrent/agent/cli-options.ts'
import { AgentUsageError } from '../../lib/torrent/agent/errors.ts'

const SPEC = {
  state: { kind: 'path', isRequired: true, what: 'DIR (the run directory)' },
  port: { kind: 'port', default: 8998, what: 'PORT' },
  listen: { kind: 'listenPort', default: 0, what: 'PORT' },
  tag: { kind: 'tag', what: 'TAG' },
  ip: { kind: 'ip', what: 'IP' },
  'info-hash': { kind: 'infoHash', what: 'HEX' },
  wait: { kind: 'seconds', default: 30, what: 'SECONDS' },
  announce: { kind: 'url', what: 'URL' },
  kind: { kind: 'kind', what: 'KIND' },
  all: { kind: 'flag', what: '' },
} as const satisfies Record<string, OptionSpec>

test('valid options come back typed, with defaults', () => {
  const values = parseOptions('x', SPEC, [
    ...['--state', '/srv/murder/run/', '--port', '9000', '--tag', 'Deploy.1_a-b', '--ip', '10.0.0.7'],
    ...['--info-hash', 'ABCDEF0123456789abcdef0123456789ABCDEF01', '--announce', 'http://10.0.0.1:8998/announce', '--kind', 'peer', '--all'],
  ])
  assert.deepEqual(values, {
    state: '/srv/murder/run',
    port: 9000,
    listen: 0,
    tag: 'Deploy.1_a-b',
    ip: '10.0.0.7',
    'info-hash': 'abcdef0123456789abcdef0123456789abcdef01',
    wait: 30,
    announce: 'http://10.0.0.1:8998/announce',
    kind: 'peer',
    all: true,
  })
  assert.equal(parseOptions('x', SPEC, ['--state', '/', '--ip', '::1']).ip, '::1')
  assert.equal(parseOptions('x', SPEC, ['--state', '/r', '--all']).all, true)
  assert.equal(parseOptions('x', SPEC, ['--state', '/r']).all, false)
})

test('bad command lines give one line naming the flag, the value and what is expected', () => {
  const cases: [string[], string][] = [
    [[], 'x: missing --state DIR (the run directory)'],
    [['--state', 'run'], 'x: --state "run" is not an absolute path without ".." or newlines'],
    [['--state', '/a/../b'], 'x: --state "/a/../b" is not an absolute path without ".." or newlines'],
    [['--state', '/r', '--bogus'], 'x: unknown option --bogus; options are --state --port --listen --tag --ip --info-hash --wait --announce --kind --all'],
    [['--state', '/r', 'extra'], 'x: unexpected argument "extra"; options are --state --port --listen --tag --ip --info-hash --wait --announce --kind --all'],
    [['--state'], 'x: --state needs a value: DIR (the run directory)'],
    [['--state', '/r', '--all=yes'], 'x: --all takes no value'],
    [['--state', '/r', '--port', '0'], 'x: --port "0" is not a port number (1-65535)'],
    [['--state', '/r', '--port', '70000'], 'x: --port "70000" is not a port number (1-65535)'],
    [['--state', '/r', '--listen=-1'], 'x: --listen "-1" is not a port number (0 for any free port)'],
    [['--state', '/r', '--listen', '-1'], 'x: --listen needs a value: PORT'],
    [['--state', '/r', '--tag', 'a/b'], 'x: --tag "a/b" is not a tag (letters, digits, ".", "_" and "-"; no "/" or "..")'],
    [['--state', '/r', '--tag', 'a..b'], 'x: --tag "a..b" is not a tag (letters, digits, ".", "_" and "-"; no "/" or "..")'],
    [['--state', '/r', '--ip', 'host.example'], 'x: --ip "host.example" is not an IP address (v4 or v6)'],
    [['--state', '/r', '--info-hash', 'abc'], 'x: --info-hash "abc" is not an info hash (40 hex characters)'],
    [['--state', '/r', '--wait', '1.5'], 'x: --wait "1.5" is not a whole number of seconds'],
    [['--state', '/r', '--announce', 'udp://t:1/announce'], 'x: --announce "udp://t:1/announce" is not a tracker URL like http://10.0.0.1:8998/announce'],
    [['--state', '/r', '--announce', 'http://t/announce'], 'x: --announce "http://t/announce" is not a tracker URL like http://10.0.0.1:8998/announce'],
    [['--state', '/r', '--kind', 'db'], 'x: --kind "db" is not one of tracker, seed, peer'],
    [['--state', '/r', '--state', '/s'], 'x: --state given more than once'],
  ]
  for (const [argv, message] of cases) {
    assert.throws(() => parseOptions('x', SPEC, argv), (error: unknown) => error instanceof AgentUsageError && error.message === message, argv.join(' '))
  }
})

test('a byte count is a whole number within the torrent limit', () => {
  const spec = { size: { kind: 'bytes', what: 'BYTES' } } as const satisfies Record<string, OptionSpec>
  assert.equal(parseOptions('x', spec, ['--size', '4096']).size, 4096)
  assert.equal(parseOptions('x', spec, []).size, undefined)
  for (const raw of ['1.5', '1e3', '67108865']) {
    assert.throws(() => parseOptions('x', spec, ['--size', raw]), { message: `x: --size "${raw}" is not a whole number of bytes up to 67108864` }, raw)
  }
})
