import { existsSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { UsageError } from '../errors.ts'

export const DEPLOYFILE_NAME = 'deployfile.ts'

/** Finds the deployfile like Capistrano finds its Capfile: the given path, else the cwd and then its parents. */
export function findDeployfile(cwd: string, explicitPath?: string): string {
  if (explicitPath !== undefined) {
    const path = resolve(cwd, explicitPath)
    if (!existsSync(path)) throw new UsageError(`Deployfile ${explicitPath} does not exist; check the -f path.`)
    if (statSync(path).isDirectory()) throw new UsageError(`${explicitPath} is a directory; pass -f the deployfile itself, e.g. ${join(explicitPath, DEPLOYFILE_NAME)}.`)
    return path
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, DEPLOYFILE_NAME)
    if (existsSync(candidate)) return candidate
    if (dirname(dir) === dir) break
  }
  throw new UsageError(
    `No ${DEPLOYFILE_NAME} found in ${resolve(cwd)} or its parents; create one (\`npx deploy install\` writes one to start from) or pass -f PATH.`
  )
}
