// The command runs in a real /bin/sh on a scratch release and shared directory.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sharedLinksCommand } from '../../lib/deploy/shared-links.ts'

function scratch(name = 'app'): { release: string; shared: string; cleanUp: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'murder-links-'))
  const release = join(root, name, 'releases/20240102030405')
  const shared = join(root, name, 'shared')
  mkdirSync(release, { recursive: true })
  mkdirSync(shared, { recursive: true })
  return { release, shared, cleanUp: () => rmSync(root, { recursive: true, force: true }) }
}

function runInShell(command: string): void {
  execFileSync('/bin/sh', ['-c', command], { stdio: 'pipe' })
}

test('no linked paths: no command', () => {
  assert.equal(sharedLinksCommand([], '/srv/app/releases/1', '/srv/app/shared'), undefined)
})

test('links each path, making missing parents and replacing what the release ships', (t) => {
  const { release, shared, cleanUp } = scratch()
  t.after(cleanUp)
  mkdirSync(join(release, 'log'))
  writeFileSync(join(release, 'log/old.log'), 'shipped')
  writeFileSync(join(release, '.env'), 'shipped')
  runInShell(
    sharedLinksCommand(
      [
        { path: '.env', isDir: false },
        { path: 'config/master.key', isDir: false },
        { path: 'log', isDir: true },
        { path: 'tmp/pids', isDir: true },
      ],
      release,
      shared
    )!
  )
  for (const path of ['.env', 'config/master.key', 'log', 'tmp/pids']) {
    assert.ok(lstatSync(join(release, path)).isSymbolicLink(), path)
    assert.equal(readlinkSync(join(release, path)), `${shared}/${path}`)
  }
})

test('a link already in the release is kept, as Capistrano keeps it', (t) => {
  const { release, shared, cleanUp } = scratch()
  t.after(cleanUp)
  symlinkSync('/var/log/app', join(release, 'log'))
  runInShell(sharedLinksCommand([{ path: 'log', isDir: true }], release, shared)!)
  assert.equal(readlinkSync(join(release, 'log')), '/var/log/app')
})

test('paths with spaces and quotes stay whole words', (t) => {
  const { release, shared, cleanUp } = scratch("it's an app")
  t.after(cleanUp)
  runInShell(sharedLinksCommand([{ path: "public/user's uploads", isDir: true }], release, shared)!)
  assert.equal(readlinkSync(join(release, "public/user's uploads")), `${shared}/public/user's uploads`)
})

test('a step that fails fails the command, and nothing after it runs', (t) => {
  const cases = [
    // mkdir -p of the parent fails: a file named config is in the way.
    { inTheWay: 'config', first: { path: 'config/database.yml', isDir: false } },
    // ln fails: a file where a linked directory goes is not removed (Capistrano removes only a directory).
    { inTheWay: 'log', first: { path: 'log', isDir: true } },
  ]
  for (const { inTheWay, first } of cases) {
    const { release, shared, cleanUp } = scratch()
    t.after(cleanUp)
    writeFileSync(join(release, inTheWay), 'in the way')
    assert.throws(() => runInShell(sharedLinksCommand([first, { path: 'tmp', isDir: true }], release, shared)!), first.path)
    assert.equal(existsSync(join(release, 'tmp')), false, first.path)
  }
})
