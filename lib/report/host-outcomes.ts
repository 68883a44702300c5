// Which hosts a run's summary lists as succeeded, as helpers, and as failed.

export interface HostOutcomes {
  /** Targets (kept by ROLES=/HOSTS=) that completed work and never failed. */
  succeededHosts: string[]
  /** Hosts the filters left out that worked for the run anyway (a swarm's tracker and seeder). */
  helperHosts: string[]
  failedHosts: { host: string; message: string }[]
  /** Hosts a block never started (the run stopped before them) that nothing else ran on. */
  unstartedHosts: string[]
}

/**
 * Every list in the inventory's order (`inventory`, all host names), not in the order hosts
 * happened to finish or fail; a failed host the inventory lacks comes last. `failed` are the
 * hosts that failed in `on` blocks and those a task failed itself (a deploy lock held elsewhere).
 */
export function hostOutcomes(
  inventory: readonly string[],
  kept: ReadonlySet<string>,
  touched: ReadonlySet<string>,
  failed: ReadonlyMap<string, Error>,
  unstarted: ReadonlySet<string> = new Set()
): HostOutcomes {
  const order = new Map(inventory.map((host, index) => [host, index]))
  const position = (host: string) => order.get(host) ?? order.size
  const finished = inventory.filter((host) => touched.has(host) && !failed.has(host))
  return {
    succeededHosts: finished.filter((host) => kept.has(host)),
    helperHosts: finished.filter((host) => !kept.has(host)),
    unstartedHosts: inventory.filter((host) => unstarted.has(host) && !touched.has(host) && !failed.has(host)),
    failedHosts: [...failed]
      .map(([host, error]) => ({ host, message: error.message }))
      .sort((a, b) => position(a.host) - position(b.host)),
  }
}
