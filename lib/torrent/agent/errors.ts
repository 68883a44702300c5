/** A bad command line: exit 2, like the controller's UsageError. */
export class AgentUsageError extends Error {
  override name = 'AgentUsageError'
}

/** Something on this host is wrong (a path, a port, a process): exit 1. The message is one line with the fix. */
export class AgentError extends Error {
  override name = 'AgentError'
}
