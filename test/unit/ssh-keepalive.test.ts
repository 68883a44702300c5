import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { createServer } from 'node:net'
import { countKeepalivesOnlyWhenSilent } from '../../lib/ssh/ssh-connections.ts'

type Client = Parameters<typeof countKeepalivesOnlyWhenSilent>[0]

test('inbound bytes restart the keepalive count, at most once a second', () => {
  const socket = new EventEmitter()
  let resets = 0
  countKeepalivesOnlyWhenSilent({ _sock: socket, _resetKA: () => resets++ } as unknown as Client)
  socket.emit('data', Buffer.from('a'))
  socket.emit('data', Buffer.from('b'))
  socket.emit('data', Buffer.from('c'))
  assert.equal(resets, 1)
})

test('ssh2 still has the socket and keepalive restart the fix relies on', async () => {
  // A server that accepts and never speaks SSH: connect() sets both fields before any handshake.
  const server = createServer((socket) => socket.on('error', () => {}))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  assert.ok(address !== null && typeof address === 'object')
  const ssh2Module = 'ssh2' // no types of its own; node-ssh uses it underneath
  const { Client } = (await import(ssh2Module)) as { Client: new () => SshClient }
  const client = new Client()
  client.on('error', () => {})
  client.connect({ host: '127.0.0.1', port: address.port, username: 'nobody', readyTimeout: 300 })
  assert.ok(client._sock instanceof EventEmitter, 'ssh2 Client._sock')
  assert.equal(typeof client._resetKA, 'function', 'ssh2 Client._resetKA')
  client.end()
  client._sock?.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

interface SshClient extends EventEmitter {
  connect(config: Record<string, unknown>): void
  end(): void
  _sock?: EventEmitter & { destroy(): void }
  _resetKA?: unknown
}
