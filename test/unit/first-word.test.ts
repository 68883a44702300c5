import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isMissingStageInListing, unknownFirstWord } from '../../lib/cli/first-word.ts'
import { listStages } from '../../lib/inventory/stage-file.ts'

const TASKS = ['deploy', 'deploy:check', 'deploy:published', 'demo:hello', 'murder:stop_seeding']
const STAGES = ['farm', 'prod', 'staging']

test('a first word that is neither task nor stage: missing stage or unknown task', () => {
  const cases: [string, string[], readonly string[] | undefined, string][] = [
    ['stage', ['deploy'], ['farm', 'prod'], 'No stage "stage" (roles/stage.yaml does not exist); stages: farm, prod.'],
    ['stagin', ['deploy'], STAGES, 'No stage "stagin" (roles/stagin.yaml does not exist); did you mean "staging"? Stages: farm, prod, staging.'],
    ['fram', [], STAGES, 'No stage "fram" (roles/fram.yaml does not exist); did you mean "farm"? Stages: farm, prod, staging.'],
    ['production', [], ['farm'], 'No stage "production" (roles/production.yaml does not exist); stages: farm.'],
    ['eu-west', ['deploy:check', 'x'], ['farm'], 'No stage "eu-west" (roles/eu-west.yaml does not exist); stages: farm.'],
    ['staging', ['deploy'], [], 'No stage "staging": roles/ holds no stage files; create roles/staging.yaml.'],
    ['staging', ['deploy'], undefined, 'No stage "staging": there is no roles/ directory next to the deployfile; create roles/staging.yaml.'],
    // Near-misses of a task keep the task suggestions.
    ['deplyo', [], STAGES, 'Unknown task "deplyo". Did you mean "deploy"? Run `deploy -T` to list tasks.'],
    ['deplyo', ['deploy:check'], STAGES, 'Unknown task "deplyo". Did you mean "deploy"? Run `deploy -T` to list tasks.'],
    ['hello', [], STAGES, 'Unknown task "hello". Did you mean "demo:hello"? Run `deploy -T` to list tasks.'],
    // Nothing says stage: an unknown task, as before.
    ['bogus', [], STAGES, 'Unknown task "bogus". Run `deploy -T` to list tasks.'],
    ['deploy:bogus', ['deploy'], STAGES, 'Unknown task "deploy:bogus". Run `deploy -T` to list tasks.'],
  ]
  for (const [word, rest, stages, message] of cases) {
    assert.equal(unknownFirstWord(word, rest, TASKS, stages).message, message, `${word} ${rest.join(' ')}`)
    assert.equal(unknownFirstWord(word, rest, TASKS, stages).exitCode, 2)
  }
  // A near-miss of a task followed by tasks is a stage when it is a usual stage's name (a project with a task `prim`).
  const withPrim = [...TASKS, 'prim']
  assert.equal(unknownFirstWord('prod', ['deploy'], withPrim, ['farm']).message, 'No stage "prod" (roles/prod.yaml does not exist); stages: farm.')
  assert.equal(unknownFirstWord('prod', [], withPrim, ['farm']).message, 'Unknown task "prod". Did you mean "prim"? Run `deploy -T` to list tasks.')
})

test('a listing that matched nothing names a missing stage when the word looks like one', () => {
  // `deploy prod -T` in a project with a task `prim`: no task name holds "prod", so it was a stage.
  assert.equal(isMissingStageInListing('prod', ['farm']), true)
  assert.equal(isMissingStageInListing('fram', STAGES), true)
  assert.equal(isMissingStageInListing('nomatch', STAGES), false)
  assert.equal(isMissingStageInListing('deploy:x', STAGES), false)
})

test('stages are the roles/*.yaml files; no roles/ directory is undefined', () => {
  const root = mkdtempSync(join(tmpdir(), 'murder-stages-'))
  assert.equal(listStages(root), undefined)
  mkdirSync(join(root, 'roles'))
  assert.deepEqual(listStages(root), [])
  for (const name of ['prod.yaml', 'farm.yaml', 'notes.txt', 'bad name.yaml']) writeFileSync(join(root, 'roles', name), '')
  assert.deepEqual(listStages(root), ['farm', 'prod'])
})
