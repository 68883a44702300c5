import { dirname } from 'node:path'

// Kept here rather than in the session: only the loader knows the deployfile's path, and the
// CLI loads one deployfile per process.
let root: string | undefined
let deployfile: string | undefined

/** Records the project root: the directory of the deployfile being loaded. */
export function rememberDeployfile(path: string): void {
  deployfile = path
  root = dirname(path)
}

/** The deployfile loaded (`-f` may name it otherwise than deployfile.ts), if any. */
export function deployfileIfLoaded(): string | undefined {
  return deployfile
}

/** The project root, or undefined when no deployfile was loaded (murder used as a library). */
export function projectRootIfLoaded(): string | undefined {
  return root
}

/**
 * The project root, where the release is packed from and relative `release_source` resolves
 * (Capistrano's too: Rake moves to the Capfile's directory), whatever directory the user stands in.
 */
export function projectRoot(): string {
  if (root === undefined) throw new Error('no deployfile loaded: the project root is not known yet')
  return root
}
