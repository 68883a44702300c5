#!/usr/bin/env node
// `npm run build`: bundles the murder agent to dist/murder-agent.cjs (always rebuilt, and gzipped
// beside it) and the CLI to dist/murder.mjs (when stale). The CLI builds both itself when needed;
// this is for packaging (`npm pack` runs it: the package ships the agent, webtorrent being only a
// development dependency), or for a package directory the users running `deploy` cannot write to.
// The agent's configuration lives in lib/torrent/build-agent.ts, which the controller also calls.
import { tsImport } from 'tsx/esm/api'
import { ensureCliBundle } from '../bin/cli-bundle.js'

const { buildAgent, packAgent } = await tsImport('../lib/torrent/build-agent.ts', import.meta.url)
const agent = await buildAgent({ shouldForce: true })
console.log(agent)
console.log(await packAgent(agent))
console.log(await ensureCliBundle())
