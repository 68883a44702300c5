import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The murder package's directory: the nearest parent of this module holding a package.json. This
 * module runs from lib/ (tests, tsx) or from the CLI bundle in dist/, so paths into the package
 * start here rather than at `import.meta.url`.
 */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)))

function findPackageRoot(start: string): string {
  for (let directory = start, depth = 0; depth < 4; directory = dirname(directory), depth++) {
    if (existsSync(join(directory, 'package.json'))) return directory
  }
  throw new Error(`no package.json above ${start}`)
}

/** murder's own version, from its package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
  return pkg.version
}
