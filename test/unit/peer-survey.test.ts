import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readSurvey, surveyCommand } from '../../lib/torrent/peer-survey.ts'

/** Runs the survey as a host's shell would, with this HOME and SSH_CONNECTION. */
function survey(agent: string, target: string, payload: 'tgz' | 'file', home: string): string {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, SSH_CONNECTION: '10.0.0.1 50000 10.213.1.7 22' }
  return execFileSync('sh', ['-c', surveyCommand(agent, target, payload)], { env, encoding: 'utf8' })
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
  assert.equal(readSurvey(survey(agent, '~/empty', 'file', home), '~/empty').isOccupied, true)
  assert.equal(readSurvey(survey(`${agent}.missing`, '~/empty', 'tgz', home), '~/empty').hasAgent, false)
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
