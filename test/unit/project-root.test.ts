import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadDeployfile } from '../../lib/config/load-deployfile.ts'
import { projectRoot } from '../../lib/config/project-root.ts'

test('loading a deployfile makes its directory the project root, wherever the process stands', async () => {
  const project = realpathSync(mkdtempSync(join(tmpdir(), 'murder-root-')))
  mkdirSync(join(project, 'lib/cli'), { recursive: true })
  writeFileSync(join(project, 'deployfile.ts'), 'export {}\n')
  process.chdir(join(project, 'lib/cli'))
  try {
    await loadDeployfile(join(project, 'deployfile.ts'))
    assert.equal(projectRoot(), project)
  } finally {
    process.chdir(tmpdir())
    rmSync(project, { recursive: true, force: true })
  }
})
