import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError, DeployError, UsageError } from '../errors.ts'
import { compileDeployfile, MURDER_URL, type CompileFailure } from './compile-deployfile.ts'
import { rememberDeployfile } from './project-root.ts'

/**
 * Compiles the deployfile (and the local modules it imports) to one ES module and imports it; load
 * errors name the file and line. The compiled module is an ES module whatever the project's
 * package.json says, so a deployfile works in a CommonJS project or one without package.json.
 */
export async function loadDeployfile(path: string): Promise<void> {
  rememberDeployfile(resolve(path))
  // Imported from a file (a data: URL would have no usable stack traces) in a directory of its own,
  // readable only by us; gone once loaded, or when the process ends first (process.exit while loading).
  // The real path, so that Node's module URL and the source map's relative paths agree (macOS links /var).
  const directory = makePrivateDirectory()
  const removeDirectory = () => rmSync(directory, { recursive: true, force: true })
  process.once('exit', removeDirectory)
  const file = join(directory, 'deployfile.mjs')
  try {
    const compiled = await compileDeployfile(path, file).catch((error: unknown) => {
      throw toConfigError(path, error)
    })
    writeFileSync(file, compiled, { mode: 0o600, flag: 'wx' })
    await import(pathToFileURL(file).href).catch((error: unknown) => {
      throw toConfigError(path, error)
    })
  } finally {
    process.removeListener('exit', removeDirectory)
    removeDirectory()
  }
}

function makePrivateDirectory(): string {
  try {
    return mkdtempSync(join(realpathSync(tmpdir()), 'murder-deployfile-'))
  } catch (error) {
    throw new UsageError(`cannot compile the deployfile into ${tmpdir()}: ${(error as Error).message}; set TMPDIR to a writable directory`)
  }
}

function toConfigError(path: string, error: unknown): DeployError {
  if (error instanceof DeployError) return error
  if (!(error instanceof Error)) return new ConfigError(`threw ${String(error)} while loading`, path)
  const failure = (error as Partial<CompileFailure>).errors?.[0]
  if (failure !== undefined) {
    // esbuild names files relative to the working directory.
    const where = failure.location ? `${resolve(failure.location.file)}:${failure.location.line}:${failure.location.column + 1}` : path
    if (/^Could not resolve /.test(failure.text)) {
      return new ConfigError(`${failure.text.replace(/^Could not resolve/, 'cannot find module')}; install it or fix the import`, where, error)
    }
    if (/^No matching export /.test(failure.text)) return new ConfigError(`bad import: ${failure.text}`, where, error)
    return new ConfigError(`syntax error: ${failure.text}`, where, error)
  }
  // Node names the modules it links by the URLs the compiled file imports; `murder` is the name the user wrote.
  const message = error.message.replaceAll(MURDER_URL, 'murder')
  const missingExport = /^The requested module '([^']+)' does not provide an export named '([^']+)'$/.exec(message)
  if (error instanceof SyntaxError && missingExport) {
    const [, module = '', name = ''] = missingExport
    return new ConfigError(`bad import: ${module} has no export named "${name}"; check its spelling`, locateWord(path, name), error)
  }
  if (error instanceof SyntaxError) return new ConfigError(`syntax error: ${message}`, locate(path, error), error)
  return new ConfigError(`threw while loading: ${message}`, locate(path, error), error)
}

/** Node's link errors carry no position: the first line that names the import is where it was written. */
function locateWord(path: string, word: string): string {
  const pattern = new RegExp(`(?<![\\w$])${word.replace(/[$]/g, '\\$&')}(?![\\w$])`)
  const index = readFileSync(path, 'utf8').split('\n').findIndex((line) => pattern.test(line))
  return index >= 0 ? `${path}:${index + 1}` : path
}

function locate(path: string, error: Error): string {
  const frame = error.stack?.split('\n').find((line) => line.includes(path))
  const match = frame ? /:(\d+):(\d+)\)?$/.exec(frame) : null
  return match ? `${path}:${match[1]}` : path
}
