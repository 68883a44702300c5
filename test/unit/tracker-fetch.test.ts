import { test } from 'node:test'
import assert from 'node:assert/strict'
import fetch from '../../lib/torrent/agent/tracker-fetch.ts'
import { withHttpServer } from '../helpers/loopback-http.ts'

test('a GET returns the status and the whole body, and sends the headers given', async () => {
  let userAgent: string | undefined
  let path: string | undefined
  await withHttpServer(
    (request, response) => {
      userAgent = request.headers['user-agent']
      path = request.url
      response.writeHead(200)
      response.write('d8:intervali10e')
      setTimeout(() => response.end('e'), 20) // the body in two writes
    },
    async (url) => {
      const response = await fetch(`${url}?info_hash=%01%02`, { headers: { 'user-agent': 'murder-test' } })
      assert.equal(response.status, 200)
      assert.equal(Buffer.from(await response.arrayBuffer()).toString(), 'd8:intervali10ee')
    }
  )
  assert.equal(userAgent, 'murder-test')
  assert.equal(path, '/announce?info_hash=%01%02')
})

test('a non-200 status is returned, not thrown, as fetch does', async () => {
  await withHttpServer(
    (_request, response) => response.writeHead(404).end('no'),
    async (url) => {
      const response = await fetch(url)
      assert.equal(response.status, 404)
      assert.equal(Buffer.from(await response.arrayBuffer()).toString(), 'no')
    }
  )
})

test('an unreachable tracker, an abort and a response cut short are rejections', { timeout: 10_000 }, async () => {
  let closedPort = 0
  await withHttpServer(
    (_request, response) => response.end(),
    async (url) => {
      closedPort = Number(new URL(url).port)
    }
  )
  await assert.rejects(fetch(`http://127.0.0.1:${closedPort}/announce`), /ECONNREFUSED/)

  await withHttpServer(
    () => {}, // never answers
    async (url) => {
      await assert.rejects(fetch(url, { signal: AbortSignal.timeout(100) }), { name: 'AbortError' })
    }
  )

  await withHttpServer(
    (request, response) => {
      response.writeHead(200, { 'content-length': '100' })
      response.write('d8:inter')
      setTimeout(() => request.socket.destroy(), 20)
    },
    async (url) => {
      const response = await fetch(url)
      await assert.rejects(response.arrayBuffer())
    }
  )
})
