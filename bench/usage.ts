// Bad arguments to a benchmark end in one line that says what is wrong and how to call it, not a stack trace.

/** Prints `problem; usage: usage` and exits 2. */
export function failUsage(usage: string, problem: string): never {
  console.error(`${problem}; usage: ${usage}`)
  process.exit(2)
}

/** Runs `parse` (node:util's parseArgs), turning an unknown or malformed option into failUsage. */
export function withUsage<T>(usage: string, parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    return failUsage(usage, error instanceof Error ? error.message : String(error))
  }
}

/** A tc-style link rate (`25mbit`, `500kbit`, `1gbit`) in bytes per second, or failUsage naming it. */
export function rateBytesPerSecond(usage: string, rate: string): number {
  const match = /^(\d+)(kbit|mbit|gbit)$/i.exec(rate)
  if (!match) return failUsage(usage, `--rate ${rate} is not understood; write e.g. 25mbit`)
  const unit = { kbit: 1e3, mbit: 1e6, gbit: 1e9 }[(match[2] ?? '').toLowerCase() as 'kbit' | 'mbit' | 'gbit']
  return (Number(match[1]) * unit) / 8
}
