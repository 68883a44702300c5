import { readOnHost } from './farm.ts'
import { quote } from '../../lib/ssh/quote.ts'

/** `sha256  ./relative/path` for every file under `dir` on a host, sorted: equal listings mean identical trees. */
export function treeDigest(host: string, dir: string): string {
  return readOnHost(host, `cd ${quote(dir)} && find . -type f -print0 | sort -z | xargs -0 -r sha256sum`)
}
