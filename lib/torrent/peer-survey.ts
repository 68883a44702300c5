// What murder:peer asks each peer host before any download, in one shell command rather than four
// (each command is an sshd session: a fork and a shell on the host, a round trip for the
// controller): is the agent there, which address did the controller reach it on, its home for
// `~/` targets, and is the target taken. Answers are tagged lines, so whatever a shell startup
// file prints before them does not shift them.
import { quote } from '../ssh/quote.ts'

export type PayloadKind = 'tgz' | 'file'

export interface PeerSurvey {
  hasAgent: boolean
  /** The host's own address as sshd saw the connection (SSH_CONNECTION), or '' if unset. */
  address: string
  /**
   * The target, `~/` expanded; for a single file (`path_is_file`) whose target is a directory,
   * the file's path inside it (as `cp` puts it there).
   */
  target: string
  /** A file there, or a directory with something in it. */
  isOccupied: boolean
  /** Why the payload cannot be put there at all (checked before any download), else undefined. */
  unusable?: 'not-a-directory' | 'not-writable'
  /** The SSH user's $HOME there ('' if unset). */
  home: string
}

const TAG = 'murder-survey'
const ANSWER = new RegExp(`^${TAG} (\\w+)=(.*)$`)

/**
 * The survey command; every path is quoted, `~/` becomes `"$HOME"/…`. `fileName`: the name a
 * single file takes inside a target that is a directory.
 */
export function surveyCommand(agentPath: string, target: string, payload: PayloadKind, fileName = ''): string {
  const where = target.startsWith('~/') ? `"$HOME"/${quote(target.slice(2))}` : quote(target)
  // A single file into a directory goes inside it under its own name, as cp puts it.
  const place = payload === 'file' ? `if test -d "$t"; then t="$t"/${quote(fileName)}; i=yes; else i=no; fi` : 'i=no'
  const state = payload === 'file'
    ? 'if test -e "$t"; then o=taken; else o=free; fi'
    : 'if test -e "$t" && ! test -d "$t"; then o=not-a-directory; elif test -d "$t" && test -n "$(ls -A "$t")"; then o=taken; else o=free; fi'
  // The nearest directory that exists on the way (the target's, for a tgz) must take new files;
  // `dirname` reaches `/`, so the loop ends.
  const start = payload === 'file' ? '"$(dirname "$t")"' : '"$t"'
  const writable = `if test "$o" != not-a-directory; then p=${start}; while ! test -e "$p"; do p="$(dirname "$p")"; done; test -d "$p" && test -w "$p" || o=not-writable; fi`
  return [
    `if test -f ${quote(agentPath)}; then a=yes; else a=no; fi`,
    `t=${where}`,
    place,
    state,
    writable,
    `printf '${TAG} %s\\n' "agent=$a" "address=$SSH_CONNECTION" "home=$HOME" "inside=$i" "target=$o"`,
  ].join('; ')
}

/** Reads the survey's answers; throws one line when they are missing or cannot place the target. */
export function readSurvey(output: string, target: string, fileName = ''): PeerSurvey {
  const answers = new Map<string, string>()
  for (const line of output.split('\n')) {
    const found = ANSWER.exec(line)
    if (found?.[1] !== undefined) answers.set(found[1], found[2] ?? '')
  }
  const agent = answers.get('agent')
  const state = answers.get('target')
  const home = answers.get('home') ?? ''
  if (agent === undefined || state === undefined) {
    throw new Error(`its survey command printed no answers murder can read (${JSON.stringify(output.slice(0, 80))}); check that its shell prints nothing else.`)
  }
  const isInHome = target.startsWith('~/')
  if (isInHome && !home.startsWith('/')) throw new Error(`$HOME is ${home === '' ? 'empty' : `"${home}"`} there, so ${target} has no place; use an absolute path.`)
  const expanded = isInHome ? `${home.replace(/\/+$/, '')}${target.slice(1)}` : target
  const unusable = state === 'not-a-directory' || state === 'not-writable' ? state : undefined
  return {
    hasAgent: agent === 'yes',
    address: (answers.get('address') ?? '').split(' ')[2] ?? '',
    target: answers.get('inside') === 'yes' ? `${expanded.replace(/\/+$/, '')}/${fileName}` : expanded,
    isOccupied: state === 'taken',
    ...(unusable === undefined ? {} : { unusable }),
    home,
  }
}
