import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeAgentFailure } from '../../lib/torrent/agent-client.ts'

const location = { node: 'node', murderPath: '/var/www/shop/shared/murder' }

// What Node 20 prints when the script it is given does not exist.
const missingScript = [
  'node:internal/modules/cjs/loader:1228',
  '  throw err;',
  '  ^',
  '',
  "Error: Cannot find module '/var/www/shop/shared/murder/murder-agent.cjs'",
  '    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)',
  "  code: 'MODULE_NOT_FOUND',",
  '  requireStack: []',
  '}',
  '',
  'Node.js v20.20.2',
]

test('a missing agent says where it should be and which task puts it there', () => {
  assert.equal(
    describeAgentFailure(location, 'stop', 1, missingScript),
    'the murder agent is not installed at /var/www/shop/shared/murder/murder-agent.cjs; run `deploy STAGE murder:distribute_files` first.'
  )
})

test("a crash of Node itself is told by its stack's error line, not the version footer", () => {
  const crash = ['/var/www/shop/shared/murder/murder-agent.cjs:2', 'TypeError: Cannot read properties of undefined (reading \'x\')', '    at main (x.cjs:2:10)', '', 'Node.js v20.20.2']
  assert.equal(describeAgentFailure(location, 'peer', 1, crash), "murder agent peer: TypeError: Cannot read properties of undefined (reading 'x')")
})

test("the agent's own error is its last line; no output names the exit code; 127 names Node", () => {
  assert.equal(describeAgentFailure(location, 'seed', 1, ['starting', 'error: /tmp/x.tgz does not exist; run murder:create_torrent first', '']), 'murder agent seed: error: /tmp/x.tgz does not exist; run murder:create_torrent first')
  assert.equal(describeAgentFailure(location, 'seed', 3, []), 'murder agent seed: exited 3')
  assert.equal(describeAgentFailure({ ...location, node: '/opt/node/bin/node' }, 'seed', 127, ['sh: 1: /opt/node/bin/node: not found']), '/opt/node/bin/node not found; install Node >= 20 there or set murder_node to its path.')
})

test('an agent killed by a signal says so, not its last warning', () => {
  assert.equal(
    describeAgentFailure(location, 'peer', null, ['(node:42) Warning: something unrelated']),
    'murder agent peer was killed by a signal (by hand, or by the kernel for memory); see its log in /var/www/shop/shared/murder/run'
  )
})

test('a command line the agent refuses (exit 2) points at an agent older than the controller', () => {
  assert.equal(
    describeAgentFailure(location, 'peer', 2, ['peer: unknown option --torrent-from-stdin; options are --state --tag']),
    'murder agent peer: peer: unknown option --torrent-from-stdin; options are --state --tag (is /var/www/shop/shared/murder/murder-agent.cjs older than this controller? run `deploy STAGE murder:distribute_files`)'
  )
})
