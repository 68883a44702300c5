/** One entry of a waves spec: the cumulative count, or share, of hosts switched once that wave is done. */
export interface WaveStep {
  value: number
  isPercent: boolean
}

/**
 * Reads a waves spec like `1,10%,100%` without needing the hosts, so a bad spec is refused before
 * anything starts. Pure; throws a one-line Error.
 */
export function parseWaves(spec: string): WaveStep[] {
  const entries = spec.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  if (entries.length === 0) throw new Error(`waves "${spec}" is empty; write counts or percentages like 1,10%,100%`)
  const steps = entries.map((entry) => {
    const match = /^(\d+)(%?)$/.exec(entry)
    if (!match) throw new Error(`wave "${entry}" in "${spec}" is not a count or a percentage; write e.g. 1,10%,100%`)
    const step = { value: Number(match[1]), isPercent: match[2] === '%' }
    if (step.isPercent && (step.value < 1 || step.value > 100)) throw new Error(`wave "${entry}" must be between 1% and 100%`)
    if (!step.isPercent && step.value < 1) throw new Error(`wave "${entry}" must be at least 1 host`)
    return step
  })
  // Each entry is the hosts switched so far: `50%,10%` (sizes, not totals) would skip its second wave.
  steps.forEach((step, index) => {
    const larger = steps.slice(0, index).find((earlier) => earlier.isPercent === step.isPercent && earlier.value > step.value)
    if (larger) {
      const unit = step.isPercent ? '%' : ''
      throw new Error(`waves "${spec}" shrink from ${larger.value}${unit} to ${step.value}${unit}; each wave is the hosts switched so far, so write them growing, e.g. 1,10%,100%`)
    }
  })
  return steps
}

/** Splits hosts into rollout waves from a spec (see `parseWaves`). Pure; throws a one-line Error. */
export function planWaves<T>(hosts: readonly T[], spec: string): T[][] {
  const waves: T[][] = []
  let done = 0
  for (const { value, isPercent } of parseWaves(spec)) {
    const upTo = Math.min(hosts.length, isPercent ? Math.ceil((hosts.length * value) / 100) : value)
    if (upTo > done) {
      waves.push(hosts.slice(done, upTo))
      done = upTo
    }
  }
  // Hosts the spec does not reach still switch, in a last wave: a rollout never silently stops short.
  if (done < hosts.length) waves.push(hosts.slice(done))
  return waves
}
