#!/usr/bin/env node
// The deploy CLI, run from its bundle (built on first use and after any change to lib/ or tasks/).
import { pathToFileURL } from 'node:url'
import { CLI_BUNDLE, ensureCliBundle } from './cli-bundle.js'

let bundle
try {
  bundle = await ensureCliBundle()
} catch (error) {
  process.stderr.write(`error: cannot build ${CLI_BUNDLE}: ${describeBuildError(error)}\n`)
  process.exit(2)
}
// Stack traces name lib/, tasks/ and deployfile lines rather than the bundles' (task locations come from them).
process.setSourceMapsEnabled(true)
const { main } = await import(pathToFileURL(bundle).href)
process.exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: { write: (text) => process.stdout.write(text), isTTY: process.stdout.isTTY === true },
  stderr: { write: (text) => process.stderr.write(text), isTTY: process.stderr.isTTY === true },
})

/** One line: esbuild's first message with its place, or why the file could not be written. */
function describeBuildError(error) {
  const first = error?.errors?.[0]
  if (first) return `${first.location ? `${first.location.file}:${first.location.line}: ` : ''}${first.text}`
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error)
  return error?.code === 'EACCES' || error?.code === 'EPERM' || error?.code === 'EROFS'
    ? `${message}; run \`npm run build\` in murder's directory as its owner`
    : message
}
