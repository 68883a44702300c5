#!/usr/bin/env node
// The deploy CLI, run from its bundle (built on first use and after any change to lib/ or tasks/).
import { isatty } from 'node:tty'
import { pathToFileURL } from 'node:url'
import { CLI_BUNDLE, ensureCliBundle } from './cli-bundle.js'

let bundle
try {
  bundle = await ensureCliBundle()
} catch (error) {
  process.stderr.write(`error: cannot build ${CLI_BUNDLE}: ${describeBuildError(error)}\n`)
  process.exit(2)
}
// Once the terminal is closed (SIGHUP) or the reader gone (`| head`), writes fail with EIO or EPIPE:
// the run still stops its remote work and unlocks its hosts, so a lost reader must not end it there.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EIO' && error.code !== 'EPIPE') throw error
  })
}
// A promise nothing awaited that failed (a missing `await` the runner could not see, in the
// deployfile's own helpers): one line, and the run cannot end as a success; Node's default would end
// it at once with a stack trace, skipping its unlock and clean-up.
let hasUnhandledFailure = false
let hasFinished = false
process.on('unhandledRejection', (reason) => {
  hasUnhandledFailure = true
  // After the run's own end (a straggler): the exit status is no longer main's to set.
  if (hasFinished) process.exitCode = 1
  const message = reason instanceof Error ? reason.message.split('\n')[0] : String(reason)
  process.stderr.write(`error: a promise nothing awaited failed: ${message} (a missing await in the deployfile?)\n`)
})
// Stack traces name lib/, tasks/ and deployfile lines rather than the bundles' (task locations come from them).
process.setSourceMapsEnabled(true)
const { main } = await import(pathToFileURL(bundle).href)
// When every promise left waits on nothing (an await in the deployfile, or a task awaiting a promise
// nothing will settle), Node ends the process with code 13 and no word; say what happened.
process.on('exit', () => {
  if (hasFinished || process.exitCode !== 13) return
  process.stderr.write('error: the run stopped waiting for a promise that nothing will ever settle: an `await` in the deployfile or in a task that cannot finish\n')
  process.exitCode = 1
})
const exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: { write: (text) => process.stdout.write(text), isTTY: process.stdout.isTTY === true },
  stderr: { write: (text) => process.stderr.write(text), isTTY: process.stderr.isTTY === true },
  isStdinTTY: isatty(0),
})
process.exitCode = exitCode === 0 && hasUnhandledFailure ? 1 : exitCode
hasFinished = true

/** One line: esbuild's first message with its place, or why the file could not be written. */
function describeBuildError(error) {
  const first = error?.errors?.[0]
  if (first) return `${first.location ? `${first.location.file}:${first.location.line}: ` : ''}${first.text}`
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error)
  return error?.code === 'EACCES' || error?.code === 'EPERM' || error?.code === 'EROFS'
    ? `${message}; run \`npm run build\` in murder's directory as its owner`
    : message
}
