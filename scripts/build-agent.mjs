#!/usr/bin/env node
// `npm run build`: bundles the murder agent to dist/murder-agent.cjs (always rebuilds).
// The configuration lives in lib/torrent/build-agent.ts, which the controller also calls.
import { tsImport } from 'tsx/esm/api'

const { buildAgent } = await tsImport('../lib/torrent/build-agent.ts', import.meta.url)
const bundle = await buildAgent({ shouldForce: true })
console.log(bundle)
