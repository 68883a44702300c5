// The CLI run from source (no bundle), for tests that need only --dry-run: nothing connects anywhere.
// Usage: node --import tsx test/helpers/cli-from-source.ts ARGS…
import { main } from '../../lib/cli/main.ts'

process.exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: { write: (text) => process.stdout.write(text), isTTY: false },
  stderr: { write: (text) => process.stderr.write(text), isTTY: false },
})
