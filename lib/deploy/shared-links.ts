// deploy:symlink:shared as one shell command per host, with Capistrano's rules for each linked
// path: parents made, a link already there kept, a file (linked_files) or directory (linked_dirs)
// the release ships replaced by the link into shared/. The tests are shell builtins, so a host runs
// one process per link (`ln`) instead of three (`mkdir`, `rm`, `ln`) when nothing is in the way.
import { posix } from 'node:path'
import { quote } from '../ssh/quote.ts'
import { ensureDirectoriesCommand } from './ensure-directories.ts'

export interface LinkedPath {
  /** Relative to the release and to shared/ (checked by readLinkedPaths). */
  path: string
  isDir: boolean
}

export function sharedLinksCommand(entries: readonly LinkedPath[], releasePath: string, sharedPath: string): string | undefined {
  if (entries.length === 0) return undefined
  const makeParents = ensureDirectoriesCommand(entries.map(({ path }) => posix.dirname(`${releasePath}/${path}`)))
  const links = entries.map(({ path, isDir }) => {
    const link = quote(`${releasePath}/${path}`)
    const clear = isDir ? `{ [ ! -d ${link} ] || rm -rf ${link}; }` : `{ [ ! -f ${link} ] || rm ${link}; }`
    return `if [ ! -L ${link} ]; then ${clear} && ln -s ${quote(`${sharedPath}/${path}`)} ${link}; fi`
  })
  return [makeParents, ...links].join(' && ')
}
