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
