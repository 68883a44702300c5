import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadDeployfile } from '../../lib/config/load-deployfile.ts'

/** The one-line error loading a deployfile made of `files` gives (paths relative to its directory). */
async function loadError(files: Record<string, string>, prefix = 'murder-load-'): Promise<string> {
  const project = realpathSync(mkdtempSync(join(tmpdir(), prefix)))
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(project, name, '..'), { recursive: true })
      writeFileSync(join(project, name), text)
    }
    const error = await loadDeployfile(join(project, 'deployfile.ts')).then(
      () => assert.fail('the deployfile loaded'),
      (caught: unknown) => caught as Error
    )
    return error.message.replaceAll(project, 'PROJECT')
  } finally {
    rmSync(project, { recursive: true, force: true })
  }
}

test('an error on a first line is placed at the column the user wrote, in the deployfile and the modules it imports', async () => {
  assert.equal(
    await loadError({ 'deployfile.ts': "import { thing } from './missing.ts'\nconsole.log(thing)\n" }),
    'PROJECT/deployfile.ts:1:23: cannot find module "./missing.ts"; install it or fix the import'
  )
  assert.equal(
    await loadError({
      'deployfile.ts': "import { thing } from './lib/thing.ts'\nconsole.log(thing)\n",
      'lib/thing.ts': "import other from './nope.js'\nexport const thing = other\n",
    }),
    'PROJECT/lib/thing.ts:1:19: cannot find module "./nope.js"; install it or fix the import'
  )
  assert.equal(await loadError({ 'deployfile.ts': 'const = 3\n' }), 'PROJECT/deployfile.ts:1:7: syntax error: Expected identifier but found "="')
  // A project path that is not ASCII: esbuild counts the declaration's bytes, not its characters.
  assert.equal(
    await loadError({ 'deployfile.ts': "import { thing } from './missing.ts'\nconsole.log(thing)\n" }, 'murder-dépôt-'),
    'PROJECT/deployfile.ts:1:23: cannot find module "./missing.ts"; install it or fix the import'
  )
})

test('an error past the first line keeps its line and column', async () => {
  assert.equal(
    await loadError({ 'deployfile.ts': "// a comment\nimport { thing } from './missing.ts'\nconsole.log(thing)\n" }),
    'PROJECT/deployfile.ts:2:23: cannot find module "./missing.ts"; install it or fix the import'
  )
})
