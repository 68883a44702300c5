import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { errorLine, makeProject, runCli, REPO_ROOT } from '../helpers/cli.ts'
import { ensureFarm } from '../helpers/farm.ts'
import { quote } from '../../lib/ssh/quote.ts'

let project = ''
let firstHost = ''

before(() => {
  firstHost = ensureFarm(2)[0] ?? ''
  project = makeProject('ask', 'ask.ts')
})

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), typing each answer once its question has
 * appeared: typed earlier, the terminal's own line mode would echo it before the CLI hides it.
 */
function runOnTerminal(args: readonly string[], answers: ReadonlyArray<[question: string, typed: string]>): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, join(REPO_ROOT, 'bin/deploy.js'), ...args].map((word) => quote(word)).join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: project, env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] })
    let output = ''
    let next = 0
    let searchFrom = 0
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const answer = answers[next]
      if (!answer) return
      const at = output.indexOf(answer[0], searchFrom)
      if (at < 0) return
      searchFrom = at + answer[0].length
      next += 1
      child.stdin.write(answer[1])
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

test('asked on the terminal: a typed answer, and a hidden one that is never shown', async () => {
  const result = await runOnTerminal(['farm', 'ask:show'], [
    ['Please enter branch (main): ', 'v2\r'],
    ['Vault word: ', 'hunter22\r'],
  ])
  assert.equal(result.code, 0, result.output)
  assert.match(result.output, /Please enter branch \(main\): v2\r\n/)
  assert.match(result.output, new RegExp(`${firstHost} said branch=v2 word=\\*{8}`))
  assert.doesNotMatch(result.output, /hunter22/)
})

test('an empty answer takes the default; Ctrl-C at a question ends the run before any host', async () => {
  const empty = await runOnTerminal(['farm', 'ask:show'], [
    ['Please enter branch (main): ', '\r'],
    ['Vault word: ', 'x-word-9\r'],
  ])
  assert.equal(empty.code, 0, empty.output)
  assert.match(empty.output, new RegExp(`${firstHost} said branch=main word=\\*{8}`))
  const stopped = await runOnTerminal(['farm', 'ask:show'], [['Please enter branch (main): ', '\x03']])
  assert.equal(stopped.code, 130, stopped.output)
  assert.match(stopped.output, /\^C/)
  assert.doesNotMatch(stopped.output, / said /)
})

test('without a terminal: the default, a command-line answer (masked when hidden), or a one-line error', async () => {
  const missing = await runCli(['farm', 'ask:show'], { cwd: project })
  assert.equal(missing.code, 2, missing.stderr)
  assert.equal(errorLine(missing), 'error: No value for vault_word: it is asked for on the terminal, but stdin is not one; pass vault_word=VALUE on the command line. (at deployfile.ts:8)')
  assert.doesNotMatch(missing.stderr, / said /)
  const given = await runCli(['farm', 'ask:show', 'vault_word=hunter22'], { cwd: project })
  assert.equal(given.code, 0, given.stderr)
  assert.match(given.stderr, new RegExp(`${firstHost} said branch=main word=\\*{8}`))
  assert.doesNotMatch(given.stderr + given.stdout, /hunter22/)
  assert.doesNotMatch(given.stderr, /Please enter/)
  assert.match(given.stderr, /branch: no terminal to ask on \(stdin\); took its default main/)
})
