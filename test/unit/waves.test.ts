import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseWaves, planWaves } from '../../lib/deploy/waves.ts'

const hosts = Array.from({ length: 20 }, (_, index) => `h${index + 1}`)

test('planWaves splits hosts by cumulative counts and percentages', () => {
  const cases: { spec: string; sizes: number[] }[] = [
    { spec: '100%', sizes: [20] },
    { spec: '1,10%,100%', sizes: [1, 1, 18] },
    { spec: '1,25%,100%', sizes: [1, 4, 15] },
    { spec: '2,2,50%', sizes: [2, 8, 10] },
    { spec: '5', sizes: [5, 15] },
    { spec: '50, 100 %'.replace(' %', '%'), sizes: [20] },
    { spec: '30', sizes: [20] },
  ]
  for (const { spec, sizes } of cases) {
    const waves = planWaves(hosts, spec)
    assert.deepEqual(waves.map((wave) => wave.length), sizes, spec)
    assert.deepEqual(waves.flat(), hosts, `${spec}: every host once, in order`)
  }
})

test('planWaves rejects specs it cannot read', () => {
  const cases: [string, string][] = [
    ['', 'waves "" is empty; write counts or percentages like 1,10%,100%'],
    ['1,ten%', 'wave "ten%" in "1,ten%" is not a count or a percentage; write e.g. 1,10%,100%'],
    ['0', 'wave "0" must be at least 1 host'],
    ['150%', 'wave "150%" must be between 1% and 100%'],
    ['50%,10%', 'waves "50%,10%" shrink from 50% to 10%; each wave is the hosts switched so far, so write them growing, e.g. 1,10%,100%'],
    ['5,10%,2', 'waves "5,10%,2" shrink from 5 to 2; each wave is the hosts switched so far, so write them growing, e.g. 1,10%,100%'],
  ]
  for (const [spec, message] of cases) assert.throws(() => planWaves(hosts, spec), { message })
})

test('parseWaves checks a spec without the hosts, so deploy refuses it before touching any', () => {
  assert.deepEqual(parseWaves('1, 10%,100%'), [
    { value: 1, isPercent: false },
    { value: 10, isPercent: true },
    { value: 100, isPercent: true },
  ])
  for (const spec of ['0', 'abc', '200%', '0%', '1,,-1', '10 %']) assert.throws(() => parseWaves(spec), spec)
})
