// What the agent bundle gets for `cross-fetch-ponyfill` (build-agent.ts swaps it in). Of the
// importers of that module, only bittorrent-tracker's HTTP client runs in the agent, and it only
// GETs an announce URL and reads the status and the body. Through Node's own fetch, the first
// announce of every daemon loaded and compiled undici: about 50 ms of CPU against 10 ms for a
// node:http GET, paid by every host of a swarm at the same moment. Web seeds and torrents fetched
// by URL, the other importers' uses, are not features of the agent.
import { get as httpGet, type IncomingMessage } from 'node:http'
import { get as httpsGet } from 'node:https'

export interface TrackerFetchInit {
  signal?: AbortSignal
  headers?: Record<string, string>
}

export interface TrackerFetchResponse {
  status: number
  /** The response stream, as `res.body` of node-fetch: bittorrent-tracker listens for its errors. */
  body: IncomingMessage
  arrayBuffer(): Promise<ArrayBuffer>
}

export default function fetch(url: string, init: TrackerFetchInit = {}): Promise<TrackerFetchResponse> {
  const get = url.startsWith('https:') ? httpsGet : httpGet
  return new Promise((resolve, reject) => {
    const request = get(url, { headers: init.headers, signal: init.signal }, (response) => {
      const body = readBody(response)
      body.catch(() => {}) // an unread body that fails is not an unhandled rejection
      resolve({ status: response.statusCode ?? 0, body: response, arrayBuffer: () => body })
    })
    request.on('error', reject)
  })
}

function readBody(response: IncomingMessage): Promise<ArrayBuffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    response.on('data', (chunk: Buffer) => chunks.push(chunk))
    response.on('error', reject) // a response cut short is an 'aborted' error
    response.on('end', () => {
      const bytes = Buffer.concat(chunks)
      resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
    })
  })
}
