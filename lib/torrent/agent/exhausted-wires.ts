// Plans skip the wires that had nothing to offer last time, until something changes their answer.
import Piece from 'torrent-piece'
import type { Torrent, Wire } from 'webtorrent'
import { FAILED_PIECE } from './bad-piece-guard.ts'

/**
 * A skipped wire is planned again by the first plan this long after, even if nothing said it
 * should be: webtorrent's speed ranker may refuse a slow wire pieces a faster one will fetch, and
 * speeds change silently (stock webtorrent, too, notices that only at its next plan).
 */
export const EXHAUSTED_REPLAN_MS = 500

/** What a wire offers us changes with these: it announces pieces, or unchokes us. */
const OFFER_EVENTS = ['have', 'bitfield', 'have-all', 'unchoke', 'allowed-fast'] as const

/** Blocks any piece gave back (a request that failed, a block taken by a hotswap). */
let returnedReservations = 0
let isWatchingReservations = false

/**
 * torrent-piece's `cancel` gives a block back, to be asked of any wire (`cancelRemaining`, the
 * other way back, serves web seeds only, which the agent turns off).
 */
function watchReturnedReservations(): void {
  if (isWatchingReservations) return
  isWatchingReservations = true
  const cancel = Piece.prototype.cancel
  Piece.prototype.cancel = function (this: Piece, index: number) {
    returnedReservations += 1
    cancel.call(this, index)
  }
}

interface Exhausted {
  at: number
  /** The wire's outstanding requests then: one ending frees room in its pipeline. */
  requests: number
  /** The torrent's and the pieces' counters then: a failed piece or a returned block may be asked again. */
  failedPieces: number
  returnedReservations: number
  mayTakeBlocks: boolean
}

/**
 * webtorrent's plan visits every wire, and a wire with room in its pipeline but nothing we could ask
 * of it costs two scans of every piece, each ranking the other wires by speed: with 16 KiB pieces
 * on 48 farm hosts, the largest share of the peers' CPU with the cores 91% busy. A wire whose plan
 * asked for nothing is skipped until that could change: it announces a piece or unchokes us, one
 * of its requests ends, a block is given back or a piece fails its hash, the end game begins
 * (`mayTakeBlocks`), or EXHAUSTED_REPLAN_MS passes.
 */
export function skipExhaustedWires(torrent: Torrent, mayTakeBlocks: () => boolean, now: () => number = () => performance.now()): void {
  watchReturnedReservations()
  const exhausted = new WeakMap<Wire, Exhausted>()
  let failedPieces = 0
  torrent.on('warning', (error: Error) => {
    if (FAILED_PIECE.test(error.message)) failedPieces += 1
  })
  const watch = (wire: Wire) => {
    for (const event of OFFER_EVENTS) wire.on(event, () => exhausted.delete(wire))
  }
  for (const wire of torrent.wires) watch(wire)
  torrent.on('wire', watch)
  const update = torrent._updateWire.bind(torrent)
  torrent._updateWire = (wire) => {
    const mayTake = mayTakeBlocks()
    const last = exhausted.get(wire)
    const isUnchanged =
      last !== undefined &&
      wire.requests.length >= last.requests &&
      last.failedPieces === failedPieces &&
      last.returnedReservations === returnedReservations &&
      last.mayTakeBlocks === mayTake &&
      now() - last.at < EXHAUSTED_REPLAN_MS
    if (isUnchanged) return
    const before = wire.requests.length
    update(wire)
    if (wire.requests.length > before || wire.destroyed) exhausted.delete(wire)
    else exhausted.set(wire, { at: now(), requests: before, failedPieces, returnedReservations, mayTakeBlocks: mayTake })
  }
}
