// How a transfer daemon (seeder or peer) tunes its own Node process before it loads webtorrent.
import { setFlagsFromString } from 'node:v8'

/**
 * For the seeder and peers: V8 hands a function to its optimizing compiler once about 66 KB of its
 * bytecode has run (--interrupt-budget); in a transfer daemon some 200 functions got there, most of
 * them start-up or now-and-then code, and the optimizing compiler was a quarter of the farm's CPU.
 * With 15 times the budget 14-30 get there and the hot paths stay optimized: 16 farm hosts at
 * 100 Mbit, murder:peer 16.9 -> 16.1 s (3 alternated pairs), 6 loopback peers 5.1 -> 4.5 s. Set at
 * run time: a flag some later V8 no longer knows stops `node` on the command line, but only logs a
 * line here.
 */
function delayOptimizingCompiler(): void {
  setFlagsFromString('--interrupt-budget=1000000')
}

/**
 * For the seeder and peers: Node's queueMicrotask wraps each callback in an AsyncResource for
 * async_hooks, about 1 us a call against 0.1 us for a promise reaction, and streamx (under every
 * wire and throttle stream of webtorrent) queues one per stream update: 3-4% of a farm peer's
 * profile. The agent uses no async context. A callback that throws still ends the daemon, through
 * 'unhandledRejection' instead of 'uncaughtException'. Set before webtorrent loads, as streamx
 * keeps the function it finds then: webtorrent must stay behind lazy-modules.ts's dynamic import.
 */
function queueMicrotasksWithoutAsyncHooks(): void {
  const settled = Promise.resolve()
  globalThis.queueMicrotask = (callback) => void settled.then(callback)
}

/** Tunes this process for a transfer daemon (seeder or peer) before it loads webtorrent. */
export function tuneTransferDaemon(): void {
  delayOptimizingCompiler()
  queueMicrotasksWithoutAsyncHooks()
}
