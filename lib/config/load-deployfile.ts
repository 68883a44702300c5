import { pathToFileURL } from 'node:url'
import { ConfigError, DeployError } from '../errors.ts'

const TRANSFORM_LOCATION = /^(.+?):(\d+):(\d+): ERROR: (.+)$/m

/** Imports the deployfile (TypeScript through tsx, no build step); load errors name the file and line. */
export async function loadDeployfile(path: string): Promise<void> {
  try {
    await import(pathToFileURL(path).href)
  } catch (error) {
    throw toConfigError(path, error)
  }
}

function toConfigError(path: string, error: unknown): DeployError {
  if (error instanceof DeployError) return error
  if (!(error instanceof Error)) return new ConfigError(`threw ${String(error)} while loading`, path)
  const transform = error.name === 'TransformError' ? TRANSFORM_LOCATION.exec(error.message) : null
  if (transform) {
    const [, file, line, column, message] = transform
    return new ConfigError(`syntax error: ${message}`, `${file}:${line}:${column}`, error)
  }
  if (error instanceof SyntaxError) return new ConfigError(`syntax error: ${error.message}`, locate(path, error), error)
  if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
    return new ConfigError(`${error.message.split('\n')[0]}; install it or fix the import`, path, error)
  }
  return new ConfigError(`threw while loading: ${error.message}`, locate(path, error), error)
}

function locate(path: string, error: Error): string {
  const frame = error.stack?.split('\n').find((line) => line.includes(path))
  const match = frame ? /:(\d+):(\d+)\)?$/.exec(frame) : null
  return match ? `${path}:${match[1]}` : path
}
