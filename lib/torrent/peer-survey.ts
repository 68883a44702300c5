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
  /** The target, `~/` expanded. */
  target: string
  /** A file there, or a directory with something in it. */
  isOccupied: boolean
  /** The SSH user's $HOME there ('' if unset). */
  home: string
}

const TAG = 'murder-survey'
const ANSWER = new RegExp(`^${TAG} (\\w+)=(.*)$`)

/** The survey command; every path is quoted, `~/` becomes `"$HOME"/…`. */
export function surveyCommand(agentPath: string, target: string, payload: PayloadKind): string {
  const where = target.startsWith('~/') ? `"$HOME"/${quote(target.slice(2))}` : quote(target)
  const isTaken = payload === 'file' ? 'test -e "$t"' : 'test -d "$t" && test -n "$(ls -A "$t")"'
  return [
    `if test -f ${quote(agentPath)}; then a=yes; else a=no; fi`,
    `t=${where}`,
    `if ${isTaken}; then o=taken; else o=free; fi`,
    `printf '${TAG} %s\\n' "agent=$a" "address=$SSH_CONNECTION" "home=$HOME" "target=$o"`,
  ].join('; ')
}

/** Reads the survey's answers; throws one line when they are missing or cannot place the target. */
export function readSurvey(output: string, target: string): PeerSurvey {
  const answers = new Map<string, string>()
  for (const line of output.split('\n')) {
    const found = ANSWER.exec(line)
    if (found?.[1] !== undefined) answers.set(found[1], found[2] ?? '')
  }
  const agent = answers.get('agent')
  const taken = answers.get('target')
  const home = answers.get('home') ?? ''
  if (agent === undefined || taken === undefined) {
    throw new Error(`its survey command printed no answers murder can read (${JSON.stringify(output.slice(0, 80))}); check that its shell prints nothing else.`)
  }
  const isInHome = target.startsWith('~/')
  if (isInHome && !home.startsWith('/')) throw new Error(`$HOME is ${home === '' ? 'empty' : `"${home}"`} there, so ${target} has no place; use an absolute path.`)
  return {
    hasAgent: agent === 'yes',
    address: (answers.get('address') ?? '').split(' ')[2] ?? '',
    target: isInHome ? `${home.replace(/\/+$/, '')}${target.slice(1)}` : target,
    isOccupied: taken === 'taken',
    home,
  }
}
