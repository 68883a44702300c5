// What a task module remembers of one run (the hosts it locked, the release it picked) belongs to
// that run's Session, not to the module: a second run in the same process starts afresh.
import { currentSession, type Session } from './session.ts'

/** A getter of this run's value, made by `create` on the run's first use. */
export function perRun<T>(create: () => T): () => T {
  const values = new WeakMap<Session, T>()
  return () => {
    const session = currentSession()
    if (!values.has(session)) values.set(session, create())
    return values.get(session) as T
  }
}
