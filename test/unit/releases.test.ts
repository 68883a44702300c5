import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DRY_RUN_NEWEST_RELEASE, DRY_RUN_PREVIOUS_RELEASE, clearIncomingCommand, clearStaleArchivesCommand, clearUnpublishedCommand, releaseArchivePath, deployLogLine, parseReleaseListing, releaseListingCommand, linkTargetOf, parseCurrentRead, readCurrentCommand, releaseOf, releaseTimestamp, releasesToRemove, rollbackLogLine, rollbackTarget } from '../../lib/deploy/releases.ts'

test('releaseTimestamp is UTC %Y%m%d%H%M%S', () => {
  assert.equal(releaseTimestamp(new Date('2024-01-02T03:04:05.678Z')), '20240102030405')
})

test('releasesToRemove keeps the newest keep_releases and never the current one', () => {
  const cases: { names: string[]; keep: number; current: string | undefined; expected: string[] }[] = [
    { names: ['20240101000000', '20240102000000', '20240103000000'], keep: 5, current: undefined, expected: [] },
    { names: ['20240103000000', '20240101000000', '20240102000000'], keep: 2, current: '20240103000000', expected: ['20240101000000'] },
    { names: ['20240101000000', '20240102000000', '20240103000000'], keep: 1, current: '20240101000000', expected: ['20240102000000'] },
    { names: ['notes', '20240101000000', '20240102000000', 'current'], keep: 1, current: undefined, expected: ['20240101000000'] },
    { names: ['2024010100000', '20240102000000'], keep: 1, current: undefined, expected: [] },
  ]
  for (const { names, keep, current, expected } of cases) {
    assert.deepEqual(releasesToRemove(names, keep, current), expected, JSON.stringify({ names, keep, current }))
  }
})

test('rollbackTarget follows cap: the second newest by mtime, or the one asked for', () => {
  const newestFirst = ['20240103000000', '20240101000000', '20240102000000']
  assert.equal(rollbackTarget(newestFirst, undefined), '20240101000000')
  assert.equal(rollbackTarget(newestFirst, '20240102000000'), '20240102000000')
  assert.equal(rollbackTarget(newestFirst, '20990101000000'), undefined)
  assert.equal(rollbackTarget(['20240103000000'], undefined), undefined)
  assert.equal(rollbackTarget(['junk', '20240103000000'], undefined), undefined)
})

test('rollbackTarget without a name goes to the release before current, also after a rollback to an older one', () => {
  const newestFirst = ['20240104000000', '20240103000000', '20240102000000', '20240101000000']
  assert.equal(rollbackTarget(newestFirst, undefined, '20240104000000'), '20240103000000')
  assert.equal(rollbackTarget(newestFirst, undefined, '20240102000000'), '20240101000000', 'not the second newest, which is newer than current')
  assert.equal(rollbackTarget(newestFirst, undefined, '20240101000000'), undefined, 'nothing before the oldest')
  assert.equal(rollbackTarget(newestFirst, undefined, '20230101000000'), '20240103000000', 'current not among them: the second newest, as cap')
})

test('linkTargetOf takes the last line readlink printed, past a shell rc file\'s chatter', () => {
  assert.equal(linkTargetOf('/var/www/app/releases/20240102030405\n'), '/var/www/app/releases/20240102030405')
  assert.equal(linkTargetOf('Welcome to web1\n\n/var/www/app/releases/20240102030405\n'), '/var/www/app/releases/20240102030405')
  assert.equal(linkTargetOf(''), '')
})

test("readCurrentCommand reads where current points and its REVISION (Capistrano's previous_revision) in one command; it fails without the link", () => {
  const root = mkdtempSync(join(tmpdir(), 'current-read-'))
  try {
    const release = join(root, "releases/20240102030405")
    mkdirSync(release, { recursive: true })
    const current = join(root, "it's current")
    const read = () => {
      try {
        return { code: 0, ...parseCurrentRead(`Welcome\n${execFileSync('/bin/sh', ['-c', readCurrentCommand(current)], { encoding: 'utf8' })}`) }
      } catch {
        return { code: 1 }
      }
    }
    assert.deepEqual(read(), { code: 1 }, 'no current')
    symlinkSync(release, current)
    assert.deepEqual(read(), { code: 0, target: release, revision: undefined }, 'no REVISION')
    writeFileSync(join(release, 'REVISION'), 'abc123\n')
    assert.deepEqual(read(), { code: 0, target: release, revision: 'abc123' })
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
  // A target on the last line alone (no marker before it) has no revision.
  assert.deepEqual(parseCurrentRead('chatter\n/a/releases/20240102030405\n'), { target: '/a/releases/20240102030405', revision: undefined })
})

test('releaseOf reads the release name from a readlink result', () => {
  assert.equal(releaseOf('/var/www/app/releases/20240102030405'), '20240102030405')
  assert.equal(releaseOf('/var/www/app/releases/20240102030405/'), '20240102030405')
  assert.equal(releaseOf('/var/www/app/elsewhere'), undefined)
  assert.equal(releaseOf(''), undefined)
})

test("revisions.log lines are Capistrano's", () => {
  assert.equal(
    deployLogLine({ branch: 'main', sha: '3f2a9c1e', release: '20240102030405', user: 'alice' }),
    'Branch main (at 3f2a9c1e) deployed as release 20240102030405 by alice'
  )
  assert.equal(rollbackLogLine('alice', '20240101000000'), 'alice rolled back to release 20240101000000')
})

test("a dry run's stand-in release names are never taken for real releases", () => {
  for (const name of [DRY_RUN_PREVIOUS_RELEASE, DRY_RUN_NEWEST_RELEASE]) {
    assert.equal(releaseOf(`/srv/shop/releases/${name}`), undefined)
    assert.deepEqual(releasesToRemove([name, '20240101000000'], 1, undefined), [])
    assert.equal(rollbackTarget([name, '20240101000000'], undefined), undefined)
  }
})

test('parseReleaseListing: the current= line wherever it is, the rest as names; none without that line', () => {
  const link = 'current=/var/www/app/releases/20240102030405'
  assert.deepEqual(parseReleaseListing(`${link}\n20240101000000  20240102030405\n20240103000000`), {
    current: '20240102030405',
    names: ['20240101000000', '20240102030405', '20240103000000'],
  })
  assert.deepEqual(parseReleaseListing(`Welcome!\n${link}\n20240102030405`), { current: '20240102030405', names: ['Welcome!', '20240102030405'] })
  assert.deepEqual(parseReleaseListing('current=\n20240101000000'), { current: undefined, names: ['20240101000000'] })
  assert.equal(parseReleaseListing('20240101000000  20240102030405'), undefined)
})

test('releaseListingCommand, run in /bin/sh, prints what parseReleaseListing reads', (t) => {
  const root = mkdtempSync(join(tmpdir(), "murder-listing it's-"))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const releases = join(root, 'releases')
  const current = join(root, 'current')
  const list = () => parseReleaseListing(execFileSync('/bin/sh', ['-c', releaseListingCommand(current, releases)], { encoding: 'utf8' }))
  assert.deepEqual(list(), { current: undefined, names: [] }, 'no releases directory, no current')
  for (const name of ['20240101000000', '20240102030405', '.hidden', 'notes']) mkdirSync(join(releases, name), { recursive: true })
  assert.deepEqual(list(), { current: undefined, names: ['20240101000000', '20240102030405', 'notes'] }, 'no current')
  symlinkSync(join(releases, '20240102030405'), current)
  symlinkSync(join(root, 'gone'), join(releases, '20231231000000'))
  assert.deepEqual(list(), { current: '20240102030405', names: ['20231231000000', '20240101000000', '20240102030405', 'notes'] }, 'a dangling link is listed, as ls -x lists it')
})

test('clearIncomingCommand, run in /bin/sh, removes only releases left being filled', (t) => {
  const releases = mkdtempSync(join(tmpdir(), "murder-incoming it's-"))
  t.after(() => rmSync(releases, { recursive: true, force: true }))
  const clear = () => execFileSync('/bin/sh', ['-c', clearIncomingCommand(releases, '.incoming')])
  mkdirSync(join(releases, '20240101000000'))
  clear()
  assert.deepEqual(readdirSync(releases), ['20240101000000'], 'nothing to remove')
  for (const name of ['.20240102000000.incoming/app', '.20240103000000.incoming', '.hidden']) mkdirSync(join(releases, name), { recursive: true })
  clear()
  assert.deepEqual(readdirSync(releases).sort(), ['.hidden', '20240101000000'])
})

test('clearUnpublishedCommand, run in /bin/sh, removes only releases newer than current that the log never lists, and names them', (t) => {
  const deployTo = mkdtempSync(join(tmpdir(), "murder-unpublished it's-"))
  t.after(() => rmSync(deployTo, { recursive: true, force: true }))
  const releases = join(deployTo, 'releases')
  const log = join(deployTo, 'revisions.log')
  const clear = () => execFileSync('/bin/sh', ['-c', clearUnpublishedCommand(releases, '20240102000000', log)], { encoding: 'utf8' })
  const names = ['20240101000000', '20240102000000', '20240103000000/app', '20240104000000', '20240105000000', '.20240106000000.incoming', '2024010700000']
  for (const name of names) mkdirSync(join(releases, name), { recursive: true })
  assert.equal(clear(), '', 'no revisions.log (another tool deployed): nothing is removed')
  assert.equal(readdirSync(releases).length, names.length)
  // 20240104000000 was live once: a rollback to an older release keeps it.
  const line = (release: string) => `Branch main (at abc) deployed as release ${release} by alice\n`
  writeFileSync(log, [line('20240101000000'), line('20240102000000'), line('20240104000000'), 'alice rolled back to release 20240102000000\n'].join(''))
  assert.equal(clear(), '20240103000000\n20240105000000\n')
  assert.deepEqual(readdirSync(releases).sort(), ['.20240106000000.incoming', '20240101000000', '20240102000000', '20240104000000', '2024010700000'])
})

test('clearStaleArchivesCommand, run in /bin/sh, removes only this application\'s release archives and torrents, and only old ones', (t) => {
  const tmp = mkdtempSync(join(tmpdir(), "murder-archives it's-"))
  t.after(() => rmSync(tmp, { recursive: true, force: true }))
  const clear = () => execFileSync('/bin/sh', ['-c', clearStaleArchivesCommand(tmp, 'shop')])
  clear()
  assert.deepEqual(readdirSync(tmp), [], 'nothing to remove')
  const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3600_000)
  const write = (name: string, changed: Date) => {
    writeFileSync(join(tmp, name), '')
    utimesSync(join(tmp, name), changed, changed)
  }
  const kept = ['shop-2-20240101000000.tgz', 'shop-2024010100000.tgz', 'shop-20240101000000.tgz.part', 'other-20240101000000.tgz', 'shop.tgz']
  const stale = ['shop-20240101000000.tgz', 'shop-20240101000000.tgz.torrent', 'shop-20240102000000.tgz.torrent']
  for (const name of [...kept, ...stale]) write(name, hoursAgo(2))
  // Another stage's deploy of shop, in flight on this host.
  write('shop-20240103000000.tgz', new Date())
  clear()
  assert.deepEqual(readdirSync(tmp).sort(), [...kept, 'shop-20240103000000.tgz'].sort())
  assert.equal(releaseArchivePath('/tmp', 'shop', '20240101000000'), '/tmp/shop-20240101000000.tgz')
})
