import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readSurvey, surveyCommand } from '../../lib/torrent/peer-survey.ts'

/** Runs the survey as a host's shell would, with this HOME and SSH_CONNECTION. */
function survey(agent: string, target: string, payload: 'tgz' | 'file', home: string, asUser?: number): string {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, SSH_CONNECTION: '10.0.0.1 50000 10.213.1.7 22' }
  const user = asUser === undefined ? {} : { uid: asUser, gid: asUser }
  return execFileSync('sh', ['-c', surveyCommand(agent, target, payload, 'T1.tgz')], { env, encoding: 'utf8', ...user })
}

test('the survey answers through a real shell, whatever the path holds', () => {
  const home = mkdtempSync(join(tmpdir(), 'survey-'))
  const agent = join(home, "murder's agent $x.cjs")
  writeFileSync(agent, '')
  const odd = "dir with 'quotes', $HOME and `ticks`"
  mkdirSync(join(home, odd, 'App'), { recursive: true })
  writeFileSync(join(home, odd, 'App', 'f'), '')
  mkdirSync(join(home, 'empty'))

  assert.deepEqual(readSurvey(survey(agent, join(home, odd, 'App'), 'tgz', home), join(home, odd, 'App')), {
    hasAgent: true,
    address: '10.213.1.7',
    target: join(home, odd, 'App'),
    isOccupied: true,
    home,
  })
  assert.deepEqual(readSurvey(survey(agent, `~/${odd}/App`, 'tgz', home), `~/${odd}/App`).target, join(home, odd, 'App'))
  assert.equal(readSurvey(survey(agent, '~/empty', 'tgz', home), '~/empty').isOccupied, false)
  assert.equal(readSurvey(survey(agent, '~/nowhere', 'tgz', home), '~/nowhere').isOccupied, false)
  // A single file into a directory goes inside it: taken only if the file is there already.
  assert.deepEqual(readSurvey(survey(agent, '~/empty', 'file', home), '~/empty', 'T1.tgz').target, join(home, 'empty', 'T1.tgz'))
  assert.equal(readSurvey(survey(agent, '~/empty', 'file', home), '~/empty', 'T1.tgz').isOccupied, false)
  writeFileSync(join(home, 'empty', 'T1.tgz'), '')
  assert.equal(readSurvey(survey(agent, '~/empty', 'file', home), '~/empty', 'T1.tgz').isOccupied, true)
  assert.equal(readSurvey(survey(agent, '~/empty/T1.tgz', 'file', home), '~/empty/T1.tgz', 'T1.tgz').isOccupied, true)
  assert.equal(readSurvey(survey(agent, '~/new.tgz', 'file', home), '~/new.tgz', 'T1.tgz').target, join(home, 'new.tgz'))
  assert.equal(readSurvey(survey(`${agent}.missing`, '~/nowhere', 'tgz', home), '~/nowhere').hasAgent, false)
})

test('a target that cannot take the payload is found before any download: a file where a directory goes, a directory nobody may write', () => {
  const home = mkdtempSync(join(tmpdir(), 'survey-'))
  const agent = join(home, 'agent.cjs')
  writeFileSync(agent, '')
  writeFileSync(join(home, 'plain'), '')
  assert.equal(readSurvey(survey(agent, '~/plain', 'tgz', home), '~/plain').unusable, 'not-a-directory')
  assert.equal(readSurvey(survey(agent, '~/a/b/c', 'tgz', home), '~/a/b/c').unusable, undefined)
  // Whether the nearest directory that exists can be written, as an SSH user who is not root
  // (root may write anywhere): as `nobody` when these tests run as root.
  const nobody = process.getuid?.() === 0 ? 65534 : undefined
  chmodSync(home, 0o755)
  const locked = join(home, 'locked')
  mkdirSync(locked)
  chmodSync(locked, 0o555)
  const deep = join(locked, 'deep', 'out')
  assert.equal(readSurvey(survey(agent, deep, 'tgz', home, nobody), deep).unusable, 'not-writable')
  assert.equal(readSurvey(survey(agent, join(locked, 'out.tgz'), 'file', home, nobody), join(locked, 'out.tgz'), 'T1.tgz').unusable, 'not-writable')
  chmodSync(locked, 0o777)
  assert.equal(readSurvey(survey(agent, deep, 'tgz', home, nobody), deep).unusable, undefined)
})

test('lines a login script prints before the answers do not shift them; no answers is one clear line', () => {
  const output = 'Welcome to h07\nmurder-survey agent=yes\nmurder-survey address=\nmurder-survey home=/home/deploy\nmurder-survey target=free'
  assert.deepEqual(readSurvey(output, '~/app'), { hasAgent: true, address: '', target: '/home/deploy/app', isOccupied: false, home: '/home/deploy' })
  assert.throws(() => readSurvey('Welcome to h07', '/srv/app'), {
    message: 'its survey command printed no answers murder can read ("Welcome to h07"); check that its shell prints nothing else.',
  })
})

test('a ~/ target on a host without a home is refused', () => {
  const output = 'murder-survey agent=yes\nmurder-survey address=a b 10.0.0.2 22\nmurder-survey home=\nmurder-survey target=free'
  assert.throws(() => readSurvey(output, '~/app'), { message: '$HOME is empty there, so ~/app has no place; use an absolute path.' })
  assert.equal(readSurvey(output, '/srv/app').target, '/srv/app')
})
