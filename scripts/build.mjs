#!/usr/bin/env node
// `npm run build`: bundles the murder agent to dist/murder-agent.cjs (always rebuilt) and the CLI
// to dist/murder.mjs (when stale). The CLI builds both itself when needed; this is for packaging, or
// for a package directory the users running `deploy` cannot write to.
// The agent's configuration lives in lib/torrent/build-agent.ts, which the controller also calls.
import { tsImport } from 'tsx/esm/api'
import { ensureCliBundle } from '../bin/cli-bundle.js'

const { buildAgent } = await tsImport('../lib/torrent/build-agent.ts', import.meta.url)
console.log(await buildAgent({ shouldForce: true }))
console.log(await ensureCliBundle())
