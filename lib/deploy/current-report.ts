// What a failed run says about `current` on each host it touched, so that whoever reads the end of
// the log knows which hosts serve the new release, which the old one, and which were not seen. Pure.

export interface CurrentLink {
  host: string
  /** readlink of `current`; null: no `current`; undefined: the host could not be reached. */
  target: string | null | undefined
  /** Where `current` pointed when this run began, if it was read. */
  before?: string | undefined
}

/** One warning line per kind and release, hosts sorted; `published` is the release this run put live, if any. */
export function describeCurrentLinks(links: readonly CurrentLink[], published: string | undefined): string[] {
  const groups = new Map<string, string[]>()
  const add = (line: string, host: string) => groups.set(line, [...(groups.get(line) ?? []), host])
  for (const { host, target, before } of links) {
    if (target === undefined) add('current unknown on %s: not reachable; look there before deploying again', host)
    else if (target === null) add('no current on %s', host)
    else if (target === published) add(`the new release ${target} is live (current) on %s: the run failed after publishing it there`, host)
    else if (target === before) add(`current -> ${target} on %s, as before this run`, host)
    else add(`current -> ${target} on %s`, host)
  }
  return [...groups].map(([line, hosts]) => line.replace('%s', hosts.sort().join(', ')))
}
