// Bundles the murder agent (lib/torrent/agent/main.ts and what it imports) into one CommonJS file
// that runs on any host with Node >= 20 and nothing else: no node_modules, no native addons.
// esbuild is loaded only here, so only runs that ship the agent pay for it.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join, sep } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Plugin } from 'esbuild'
import { PACKAGE_ROOT as REPO } from '../package-root.ts'

export const AGENT_BUNDLE = join(REPO, 'dist/murder-agent.cjs')
const ENTRY = join(REPO, 'lib/torrent/agent/main.ts')

/** Optional native addons of webtorrent's dependencies, each loaded inside a try/catch with a JS fallback. */
const NATIVE_ADDONS = ['utp-native', 'bufferutil', 'utf-8-validate', 'node-datachannel', 'cpu-features', 'fs-native-extensions']

/** What the bundle is made of: when any of these is newer than the bundle, it is rebuilt. */
function sourceFiles(): string[] {
  const agentDirectory = join(REPO, 'lib/torrent/agent')
  return [
    ...readdirSync(agentDirectory).map((name) => join(agentDirectory, name)),
    join(REPO, 'lib/torrent/protocol.ts'),
    join(REPO, 'lib/torrent/build-agent.ts'),
    join(REPO, 'package-lock.json'),
  ].filter((path) => existsSync(path))
}

/**
 * murder installed as a package (…/node_modules/murder), not a checkout of it: the package ships the
 * agent bundled (dist/, made by `npm pack`) and webtorrent, a development dependency, is not there
 * to build it from, so that a project installs none of webtorrent's dependencies nor their npm
 * overrides. Its bundle is the one, whatever times the install gave the files and whatever
 * webtorrent the project may have of its own.
 */
const IS_INSTALLED_PACKAGE = REPO.split(sep).includes('node_modules')

/** Whether webtorrent is where esbuild would look for it from here (a checkout installed without its development dependencies has none). */
function hasWebtorrent(): boolean {
  for (let directory = REPO; ; directory = dirname(directory)) {
    if (existsSync(join(directory, 'node_modules/webtorrent/package.json'))) return true
    if (dirname(directory) === directory) return false
  }
}

export function isAgentBundleStale(bundle = AGENT_BUNDLE): boolean {
  if (!existsSync(bundle)) return true
  if (IS_INSTALLED_PACKAGE) return false
  const builtAt = statSync(bundle).mtimeMs
  return sourceFiles().some((path) => statSync(path).mtimeMs > builtAt)
}

/** Builds `dist/murder-agent.cjs` unless it is newer than every source; returns its path. */
export async function buildAgent(options: { shouldForce?: boolean; outfile?: string } = {}): Promise<string> {
  const outfile = options.outfile ?? AGENT_BUNDLE
  if (!options.shouldForce && !isAgentBundleStale(outfile)) return outfile
  if (IS_INSTALLED_PACKAGE) throw new Error(`the murder agent's bundle ${outfile} is missing from the installed package: reinstall murder (its package ships the bundle)`)
  if (!hasWebtorrent()) throw new Error(`the murder agent's bundle ${outfile} is missing or older than its sources, and webtorrent, a development dependency, is not installed to build it: run npm install in ${REPO}`)
  const esbuild = await import('esbuild')
  await esbuild.build({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // MURDER_AGENT_NO_MINIFY=1 keeps function names, for CPU profiles of the agent.
    minify: process.env['MURDER_AGENT_NO_MINIFY'] === undefined,
    legalComments: 'eof',
    logLevel: 'error',
    plugins: [leaveOutNativeAddons(), leaveOutUnusedFeatures(), trackerFetchOverHttp(), sourceEdits([...BLOCK_EDITS, ...COPY_EDITS])],
  })
  return outfile
}

/**
 * The bundle gzipped, next to it as `.gz`, made unless newer than the bundle; returns its path.
 * Hosts get this (about 30% of the bundle's bytes) and unpack it with gzip, which `tar -xzf` needs
 * anyway: a first deploy to many hosts sends every copy through the controller's one link.
 */
export async function packAgent(bundle: string): Promise<string> {
  const packed = `${bundle}.gz`
  // An installed package ships both: the times its install gave them say nothing.
  if (existsSync(packed) && (statSync(packed).mtimeMs >= statSync(bundle).mtimeMs || IS_INSTALLED_PACKAGE)) return packed
  const partial = `${packed}.${process.pid}.part`
  await writeFile(partial, gzipSync(await readFile(bundle), { level: 9 }))
  await rename(partial, packed)
  return packed
}

/**
 * Parts of webtorrent and bittorrent-tracker the agent never runs, left out of the bundle: their
 * importers use them only behind a `typeof … === 'function'` check or an option the agent turns off
 * (`dht`, `lsd`, `utPex`, `webSeeds`, the tracker server's `ws`; no WebRTC, so no websocket
 * tracker), or only in a method it never calls (`createServer`); `mime` stands in with the one
 * function webtorrent calls. Every transfer daemon paid for loading them, and a swarm's daemons
 * all start at once on their hosts; left in, they were about 40% of the bundle's source.
 * Each entry: the import as written, the importer (for relative imports), and what stands in.
 * The build fails if an entry no longer matches an import (say, after an upgrade).
 */
const UNUSED_FEATURES: { specifier: string; importer?: RegExp; exports?: string }[] = [
  // IP blocklists (with a fetch polyfill) and UPnP/NAT-PMP port mapping (an XML parser, a process runner).
  { specifier: 'load-ip-set' },
  { specifier: '@silentbot1/nat-api' },
  // The DHT, local service discovery and peer exchange: `dht`, `lsd` and `utPex` are false.
  { specifier: 'bittorrent-dht' },
  { specifier: 'bittorrent-lsd' },
  { specifier: 'ut_pex' },
  // WebRTC peers and websocket trackers (with `ws`): murder's trackers are http://.
  { specifier: '@thaunknown/simple-peer/lite.js', exports: '{ WEBRTC_SUPPORT: false }' },
  { specifier: './lib/client/websocket-tracker.js', importer: /[\\/]bittorrent-tracker[\\/]client\.js$/ },
  { specifier: 'ws' },
  // UDP trackers (with a SOCKS proxy client): murder's trackers are http://.
  { specifier: './lib/client/udp-tracker.js', importer: /[\\/]bittorrent-tracker[\\/]client\.js$/ },
  // webtorrent's HTTP server for browsers (`createServer`) and web seeds (`webSeeds` is false).
  { specifier: './lib/server.js', importer: /[\\/]webtorrent[\\/]index\.js$/ },
  { specifier: './webconn.js', importer: /[\\/]webtorrent[\\/]lib[\\/]torrent\.js$/ },
  // A file's MIME type, which nothing in the agent reads (webtorrent's fallback type stands).
  { specifier: 'mime/lite.js', exports: '{ getType: () => null }' },
]

function leaveOutUnusedFeatures(): Plugin {
  const specifiers = [...new Set(UNUSED_FEATURES.map((feature) => feature.specifier))]
  const filter = new RegExp(`^(${specifiers.map((specifier) => specifier.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`)
  return {
    name: 'leave-out-unused-features',
    setup(build) {
      const matched = new Set<number>()
      build.onResolve({ filter }, (args) => {
        const index = UNUSED_FEATURES.findIndex((f) => f.specifier === args.path && (!f.importer || f.importer.test(args.importer)))
        if (index < 0) return undefined
        matched.add(index)
        return { path: `${args.path}:${index}`, namespace: 'unused-feature' }
      })
      build.onEnd(() => {
        const stale = UNUSED_FEATURES.filter((_, index) => !matched.has(index)).map((f) => f.specifier)
        return { errors: stale.map((specifier) => ({ text: `no import of ${specifier} to leave out; update UNUSED_FEATURES in build-agent.ts` })) }
      })
      build.onLoad({ filter: /.*/, namespace: 'unused-feature' }, (args) => {
        const feature = UNUSED_FEATURES[Number(args.path.slice(args.path.lastIndexOf(':') + 1))]
        return { loader: 'js', contents: `module.exports = ${feature?.exports ?? '{}'}` }
      })
    },
  }
}

/** bittorrent-tracker's announces through a node:http GET instead of Node's fetch (see tracker-fetch.ts). */
function trackerFetchOverHttp(): Plugin {
  const replacement = join(REPO, 'lib/torrent/agent/tracker-fetch.ts')
  return {
    name: 'tracker-fetch-over-http',
    setup(build) {
      build.onResolve({ filter: /^cross-fetch-ponyfill$/ }, () => ({ path: replacement }))
    },
  }
}

/** The largest request webtorrent serves (its MAX_BLOCK_LENGTH); BitTorrent's customary 16 KiB. */
const BLOCK_BYTES = 128 * 1024
const STOCK_BLOCK_BYTES = 16 * 1024

/** Exact source edits of a package file: its path pattern and [stock text, replacement] pairs. */
type SourceEdit = [RegExp, [string, string][]]

/**
 * webtorrent requests pieces in 16 KiB blocks (torrent-piece's BLOCK_LENGTH), and each block costs
 * a request, a timer, a disk read on the sender and a message to parse: on 32 farm hosts at
 * 100 Mbit, where the agents' CPU is the limit, 128 KiB blocks took 37 s instead of 42 s. Every
 * peer of a murder swarm runs this bundle, and webtorrent serves requests up to 128 KiB.
 * webtorrent's speed thresholds are counted in blocks ("slow" is under 3 blocks a second, a wire
 * may take over a slow wire's block from 1 block a second); they keep their stock values in bytes,
 * or on 25 Mbit/s links shared by a dozen wires every wire would count as slow.
 */
const BLOCK_EDITS: SourceEdit[] = [
  [/[\\/]torrent-piece[\\/]index\.js$/, [['const BLOCK_LENGTH = 1 << 14', `const BLOCK_LENGTH = ${BLOCK_BYTES}`]]],
  [
    /[\\/]webtorrent[\\/]lib[\\/]torrent\.js$/,
    [
      ['const SPEED_THRESHOLD = 3 * Piece.BLOCK_LENGTH', `const SPEED_THRESHOLD = 3 * ${STOCK_BLOCK_BYTES}`],
      ['if (speed < Piece.BLOCK_LENGTH) return false', `if (speed < ${STOCK_BLOCK_BYTES}) return false`],
    ],
  ],
]

/**
 * Fewer copies of every byte received. bittorrent-protocol joined its buffered reads into one
 * buffer on every TCP read, so a 128 KiB block arriving in k reads was copied about k/2 times (k
 * was about 10 on a 25 Mbit/s farm link, 12 KB a read); now the reads are joined once the message
 * they make up is whole (its stock behaviour while it looks for an encrypted handshake's sync
 * pattern). uint8-util's concat, which joins those reads, a piece's blocks and a piece read back
 * from disk, zero-filled each new buffer before copying over every byte of it.
 */
const COPY_EDITS: SourceEdit[] = [
  [
    /[\\/]bittorrent-protocol[\\/]index\.js$/,
    [
      ['if (this._buffer.length > 1) {', 'if (this._buffer.length > 1 && (this._cryptoSyncPattern || this._bufferSize >= this._parserSize)) {'],
      ['// now this._buffer is an array containing a single Buffer', '// this._buffer holds a single buffer whenever a message is whole or a sync pattern is sought'],
    ],
  ],
  [
    /[\\/]uint8-util[\\/]util\.js$/,
    [
      [
        '  const b = new Uint8Array(size)',
        [
          '  let filled = 0',
          '  for (let j = 0; j < length; j++) filled += chunks[j].length',
          '  // Every byte is copied over below, so the memory need not be zeroed first; still a plain',
          '  // Uint8Array (its slice() copies, where a Buffer\'s would share).',
          "  const b = filled === size && typeof Buffer === 'function' ? new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size) : new Uint8Array(size)",
        ].join('\n'),
      ],
    ],
  ],
]

/** Applies exact source edits, failing the build when a package no longer has the stock text. */
function sourceEdits(edits: SourceEdit[]): Plugin {
  // esbuild takes the first onLoad that answers for a file: a second entry would be skipped unseen.
  const patterns = edits.map(([filter]) => filter.source)
  const repeated = patterns.find((pattern, index) => patterns.indexOf(pattern) !== index)
  if (repeated !== undefined) throw new Error(`two source edit entries for ${repeated}; put that file's edits in one entry in build-agent.ts`)
  return {
    name: 'source-edits',
    setup(build) {
      for (const [filter, replacements] of edits) {
        build.onLoad({ filter }, async (args) => {
          let source = await readFile(args.path, 'utf8')
          for (const [stock, replacement] of replacements) {
            if (source.split(stock).length !== 2) throw new Error(`${args.path} no longer contains "${stock}" exactly once; update the source edits in build-agent.ts`)
            source = source.replace(stock, replacement)
          }
          return { loader: 'js', contents: source }
        })
      }
    },
  }
}

/**
 * Each addon becomes a module that fails to load like a missing package would, so its importer
 * takes its JS fallback; utp-native becomes an empty object, which webtorrent reads as "no uTP"
 * without printing a warning on every start.
 */
function leaveOutNativeAddons(): Plugin {
  const filter = new RegExp(`^(${NATIVE_ADDONS.join('|')})$`)
  return {
    name: 'leave-out-native-addons',
    setup(build) {
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'native-addon' }))
      build.onLoad({ filter: /.*/, namespace: 'native-addon' }, (args) => ({
        loader: 'js',
        contents:
          args.path === 'utp-native'
            ? 'module.exports = {}'
            : `throw Object.assign(new Error("Cannot find module '${args.path}' (not part of the murder agent bundle)"), { code: 'MODULE_NOT_FOUND' })`,
      }))
    },
  }
}
