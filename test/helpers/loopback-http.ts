// An HTTP server on a free loopback port for the length of one test body: a stand-in tracker.
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Runs `body` with the announce URL of a server that answers every request with `handler`. */
export async function withHttpServer(handler: RequestListener, body: (announceUrl: string) => Promise<void>): Promise<void> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}
