/**
 * Splits hosts into rollout waves from a spec like `1,10%,100%`: each entry is the cumulative
 * count (or share) of hosts switched once that wave is done. Pure; throws a one-line Error.
 */
export function planWaves<T>(hosts: readonly T[], spec: string): T[][] {
  const entries = spec.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  if (entries.length === 0) throw new Error(`waves "${spec}" is empty; write counts or percentages like 1,10%,100%`)
  const waves: T[][] = []
  let done = 0
  for (const entry of entries) {
    const match = /^(\d+)(%?)$/.exec(entry)
    if (!match) throw new Error(`wave "${entry}" in "${spec}" is not a count or a percentage; write e.g. 1,10%,100%`)
    const value = Number(match[1])
    if (match[2] === '%' && (value < 1 || value > 100)) throw new Error(`wave "${entry}" must be between 1% and 100%`)
    if (match[2] === '' && value < 1) throw new Error(`wave "${entry}" must be at least 1 host`)
    const upTo = Math.min(hosts.length, match[2] === '%' ? Math.ceil((hosts.length * value) / 100) : value)
    if (upTo > done) {
      waves.push(hosts.slice(done, upTo))
      done = upTo
    }
  }
  // Hosts the spec does not reach still switch, in a last wave: a rollout never silently stops short.
  if (done < hosts.length) waves.push(hosts.slice(done))
  return waves
}
