// For benchmarks only: MURDER_AGENT_STOCK=tracker,dial,dedupe,super-seed,unchoke,rarest,rarest-held,rarest-open,coalesce,endgame-hotswap,direct-pipes,have-suppression,exhausted-wires,corked-writes
// (or `all`)
// turns parts of the swarm tuning off (corked-writes is part of direct-pipes and goes with it), so bench/agent-swarm.ts can show what each part buys.
// Unset in every real run.

export type Tuning = 'tracker' | 'dial' | 'dedupe' | 'super-seed' | 'unchoke' | 'rarest' | 'rarest-held' | 'rarest-open' | 'coalesce' | 'endgame-hotswap' | 'direct-pipes' | 'have-suppression' | 'exhausted-wires' | 'corked-writes'

export function isTuned(feature: Tuning, stock = process.env['MURDER_AGENT_STOCK'] ?? ''): boolean {
  const off = stock.split(',').map((word) => word.trim())
  return !off.includes(feature) && !off.includes('all')
}
