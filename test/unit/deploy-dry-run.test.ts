// `deploy --dry-run` of throwaway projects, run from source: what deploy packs, checks and prints
// before any host is touched. Nothing connects anywhere.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { DEPLOY_PROJECT_FILES, hostCommands, makeGitProject, runDryCli } from '../helpers/dry-run-project.ts'

function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'murder-test-tmp-'))
}

/** Runs `body` with a throwaway deploy project and a scratch TMPDIR, both removed afterwards. */
async function inDeployProject(name: string, body: (dir: string, tmp: string) => Promise<void>): Promise<void> {
  const project = makeGitProject(name, DEPLOY_PROJECT_FILES)
  const tmp = scratchDir()
  try {
    await body(project.dir, tmp)
  } finally {
    for (const dir of [project.dir, tmp]) rmSync(dir, { recursive: true, force: true })
  }
}

test('the release comes from the deployfile’s repository, not the one the user stands in', async () => {
  const project = makeGitProject('root', { ...DEPLOY_PROJECT_FILES, 'lib/cli/main.ts': 'x\n', 'app/index.html': 'shop\n' })
  const other = makeGitProject('other', { 'README': 'another repository\n' })
  const tmp = scratchDir()
  try {
    const fromSubdirectory = await runDryCli(['x', 'deploy', '--dry-run', 'deploy_via=copy'], join(project.dir, 'lib/cli'), tmp)
    assert.equal(fromSubdirectory.code, 0, fromSubdirectory.stderr)
    assert.match(fromSubdirectory.stderr, new RegExp(`Branch main \\(at ${project.sha}\\) deployed as release \\d{14}`))

    const fromOtherRepository = await runDryCli(['-f', join(project.dir, 'deployfile.ts'), 'x', 'deploy', '--dry-run', 'deploy_via=copy'], other.dir, tmp)
    assert.equal(fromOtherRepository.code, 0, fromOtherRepository.stderr)
    assert.match(fromOtherRepository.stderr, new RegExp(`\\(at ${project.sha}\\)`))
    assert.doesNotMatch(fromOtherRepository.stderr, new RegExp(other.sha))

    // A relative release_source is the project's `app`, not lib/cli/app.
    const relative = await runDryCli(['x', 'deploy', '--dry-run', 'deploy_via=copy', 'release_source=app'], join(project.dir, 'lib/cli'), tmp)
    assert.equal(relative.code, 0, relative.stderr)
    assert.ok(hostCommands(relative.stderr).length > 0)
    // tsx keeps its cache there too; murder's own directories must be gone.
    assert.deepEqual(readdirSync(tmp).filter((name) => name.startsWith('murder-')), [], 'the packed releases are gone once the runs end')
  } finally {
    for (const dir of [project.dir, other.dir, tmp]) rmSync(dir, { recursive: true, force: true })
  }
})

test('a stage after the task, or none at all, is an error saying to name the stage first', async () => {
  await inDeployProject('stage-first', async (dir, tmp) => {
    const after = await runDryCli(['deploy', 'x', '--dry-run'], dir, tmp)
    assert.equal(after.code, 2, after.stderr)
    assert.match(after.stderr, /^error: "x" is a stage: name it before the tasks, `deploy x deploy`\.$/m)
    const none = await runDryCli(['deploy', '--dry-run'], dir, tmp)
    assert.equal(none.code, 2, none.stderr)
    assert.match(none.stderr, /^error: No hosts to deploy to: name a stage before the task \(`deploy STAGE deploy`; stages: x\), or declare servers in the deployfile\.$/m)
    assert.deepEqual(hostCommands(none.stderr), [])
  })
})

test('a bad deploy input fails with one error line, exit 2, before any command for any host', async () => {
  await inDeployProject('inputs', async (dir, tmp) => {
    const cases: [string[], RegExp][] = [
      [['--waves', '0'], /^error: wave "0" must be at least 1 host\.$/m],
      [['--waves', 'abc'], /^error: wave "abc" in "abc" is not a count or a percentage/m],
      [['--waves', '200%'], /^error: wave "200%" must be between 1% and 100%\.$/m],
      [['deploy_via=rsync'], /^error: deploy_via must be "murder" or "copy", got "rsync"/m],
      [['swarm_encryption=maybe'], /^error: swarm_encryption must be true or false, got "maybe"/m],
      [['application='], /^error: application must be set to a simple name/m],
      [['application=../x', 'deploy_to=/srv/x'], /^error: application must be set to a simple name .*got "\.\.\/x"/m],
      [['keep_releases=abc'], /^error: keep_releases must be a whole number at least 1/m],
      [['keep_releases=0'], /^error: keep_releases must be a whole number at least 1/m],
      [['release_timestamp=../../../etc'], /^error: release_timestamp must be 14 digits/m],
    ]
    for (const [words, error] of cases) {
      const result = await runDryCli(['x', 'deploy', '--dry-run', ...words], dir, tmp)
      const what = words.join(' ')
      assert.equal(result.code, 2, `${what}:\n${result.stderr}`)
      assert.match(result.stderr, error, what)
      assert.deepEqual(hostCommands(result.stderr), [], `${what}: no host is touched`)
      assert.doesNotMatch(result.stderr, /succeeded/, what)
    }
  })
})

/** The swap, run only while the host's deploy lock still names this run. */
function isSwapWhileLocked(line: string, host: string, swap: string): boolean {
  return line.startsWith(`  ${host} $ if [ "$(cat /srv/shop/deploy.lock 2>/dev/null)" = '`) && line.includes(` ]; then ${swap}; else echo `)
}

test('deploy:rollback --dry-run previews its commands with a stand-in for the release it would pick', async () => {
  await inDeployProject('rollback', async (dir, tmp) => {
    const previous = await runDryCli(['x', 'deploy:rollback', '--dry-run'], dir, tmp)
    assert.equal(previous.code, 0, previous.stderr)
    const commands = hostCommands(previous.stderr)
    for (const host of ['one.invalid', 'two.invalid']) {
      const swap = `ln -sfn '/srv/shop/releases/<previous release>' /srv/shop/releases/current && mv /srv/shop/releases/current /srv/shop/`
      assert.ok(commands.some((line) => isSwapWhileLocked(line, host, swap)), previous.stderr)
    }
    assert.ok(commands.includes("  one.invalid $ rm -rf '/srv/shop/releases/<newest release>'"), previous.stderr)
    assert.match(previous.stderr, /rolled back to release <previous release>/)

    const named = await runDryCli(['x', 'deploy:rollback', '--dry-run', 'rollback_release=20240101000000'], dir, tmp)
    assert.equal(named.code, 0, named.stderr)
    const swap = 'ln -sfn /srv/shop/releases/20240101000000 /srv/shop/releases/current && mv /srv/shop/releases/current /srv/shop/'
    assert.ok(hostCommands(named.stderr).some((line) => isSwapWhileLocked(line, 'two.invalid', swap)), named.stderr)
  })
})

test('deploy:cleanup --dry-run shows the listing it would read (a capture) and says why no removal shows', async () => {
  await inDeployProject('cleanup', async (dir, tmp) => {
    const result = await runDryCli(['x', 'deploy:cleanup', '--dry-run', 'keep_releases=2'], dir, tmp)
    assert.equal(result.code, 0, result.stderr)
    assert.ok(hostCommands(result.stderr).some((line) => line.startsWith("  one.invalid $ printf 'current=' && ")), result.stderr)
    assert.match(result.stderr, /^dry run: the hosts' releases are not listed, so no removal shows; each host would keep its newest 2 releases and the one current points to$/m)
  })
})

test('--dry-run prints a task\'s local commands ($) instead of running them; deploy still packs the release', async () => {
  const marker = join(scratchDir(), 'local-marker')
  // The archive the faked command would build is not there: its upload is printed all the same.
  const deployfile = `${DEPLOY_PROJECT_FILES['deployfile.ts']}import { $, on, roles, task } from 'murder'\ntask('build', async () => { const out = await $\`touch ${marker} && echo built\`; if (out.stdout !== '') throw new Error('ran'); await on(roles('app'), (remote) => remote.upload('build.tgz', '/tmp/')) })\n`
  const project = makeGitProject('local-dry', { ...DEPLOY_PROJECT_FILES, 'deployfile.ts': deployfile })
  const tmp = scratchDir()
  try {
    const result = await runDryCli(['x', 'build', 'deploy', '--dry-run', 'deploy_via=copy'], project.dir, tmp)
    assert.equal(result.code, 0, result.stderr)
    assert.ok(hostCommands(result.stderr).includes(`  local $ touch ${marker} && echo built`), result.stderr)
    assert.ok(hostCommands(result.stderr).includes('  two.invalid $ upload build.tgz → /tmp/build.tgz'), result.stderr)
    assert.equal(existsSync(marker), false, 'the local command did not run')
    assert.match(result.stderr, new RegExp(`\\(at ${project.sha}\\) deployed as release`))
  } finally {
    for (const dir of [project.dir, tmp, dirname(marker)]) rmSync(dir, { recursive: true, force: true })
  }
})

test('tasks and their $ run in the project root (the deployfile\'s directory), from a subdirectory or with -f from elsewhere', async () => {
  const out = join(scratchDir(), 'where')
  const deployfile = `import { appendFileSync } from 'node:fs'\nimport { $, task } from 'murder'\ntask('where', async () => appendFileSync(${JSON.stringify(out)}, process.cwd() + ' ' + (await $\`pwd\`).stdout))\n`
  const project = makeGitProject('where', { 'deployfile.ts': deployfile, 'sub/dir/.keep': '' })
  const elsewhere = scratchDir()
  try {
    for (const [args, cwd] of [[['where'], join(project.dir, 'sub/dir')], [['-f', join(project.dir, 'deployfile.ts'), 'where'], elsewhere]] as const) {
      const result = await runDryCli(args, cwd, elsewhere)
      assert.equal(result.code, 0, result.stderr)
    }
    // The process and zx's `$` alike (zx keeps the directory it was loaded in unless told).
    assert.equal(readFileSync(out, 'utf8'), `${project.dir} ${project.dir}\n`.repeat(2))
  } finally {
    for (const dir of [project.dir, elsewhere, dirname(out)]) rmSync(dir, { recursive: true, force: true })
  }
})

test("a task's $ commands show as local lines, their stderr too, stdout under -v; quiet ones under -v and --dry-run only; none under -q; KEY=value words reach process.env, as Rake puts them in ENV", async () => {
  const deployfile = [
    "import { $, log, task } from 'murder'",
    "task('build', async () => {",
    '  await $`echo built for $BRANCH; printf careful >&2`',
    '  await $({ quiet: true })`echo hidden; printf whisper >&2`',
    '  await $`echo muted`.quiet()',
    '  log(`process.env.BRANCH=${process.env.BRANCH}`)',
    '  $.verbose = false',
    '  await $`printf hushed >&2`',
    '})',
    '',
  ].join('\n')
  const project = makeGitProject('local-lines', { 'deployfile.ts': deployfile })
  const tmp = scratchDir()
  const run = async (...words: string[]) => {
    const result = await runDryCli(['build', 'BRANCH=v2', ...words], project.dir, tmp)
    assert.equal(result.code, 0, result.stderr)
    return { stderr: result.stderr, lines: result.stderr.split('\n') }
  }
  try {
    const plain = await run()
    const at = plain.lines.indexOf('  local $ echo built for $BRANCH; printf careful >&2')
    assert.ok(at >= 0, plain.stderr)
    // stderr shown (its last line unfinished, and no empty line after it); stdout, as a capture's, not.
    assert.deepEqual(plain.lines.slice(at + 1, at + 3), ['  local ! careful', '  local $ echo muted'], plain.stderr)
    assert.ok(plain.lines.includes('process.env.BRANCH=v2'), plain.stderr)
    assert.doesNotMatch(plain.stderr, /hidden|whisper|built for v2|\| muted|hushed/)

    const verbose = await run('-v')
    assert.ok(verbose.lines.includes('  local | built for v2') && verbose.lines.includes('  local ! careful'), verbose.stderr)
    // As zx: quiet from the start is a quiet command (as capture's); .quiet() on one started hides its output.
    assert.ok(verbose.lines.includes('  local $ echo hidden; printf whisper >&2') && !verbose.lines.includes('  local | hidden'), verbose.stderr)
    assert.ok(verbose.lines.includes('  local ! whisper'), `a quiet command's stderr shows with it: ${verbose.stderr}`)
    assert.ok(verbose.lines.includes('  local $ echo muted') && !verbose.lines.includes('  local | muted'), verbose.stderr)
    assert.match(verbose.stderr, /^ {2}local exit 0 in /m)
    // After `$.verbose = false` a command and its stderr show together, under --verbose (zx would print the stderr alone).
    assert.ok(verbose.lines.includes('  local $ printf hushed >&2') && verbose.lines.includes('  local ! hushed'), verbose.stderr)

    // A dry run lists every local command it does not run, quiet ones too.
    const dry = await run('--dry-run')
    for (const command of ['echo built for $BRANCH; printf careful >&2', 'echo hidden; printf whisper >&2', 'echo muted']) assert.ok(dry.lines.includes(`  local $ ${command}`), dry.stderr)
    assert.doesNotMatch(dry.stderr, /careful$|built for v2/m)

    const quiet = await run('-q')
    assert.doesNotMatch(quiet.stderr, /local|built/)
  } finally {
    for (const dir of [project.dir, tmp]) rmSync(dir, { recursive: true, force: true })
  }
})

test("a failing $ is said as a failing remote command is: the command, its exit status, its last stderr lines and the deployfile's line; in an on block, each host its own", async () => {
  const deployfile = [
    "import { $, on, server, task } from 'murder'",
    "task('build', async () => {",
    '  const unused = 1',
    "  await $`sh -c ${'echo warming >&2; echo compile error in x.ts >&2; exit 4'}`",
    '})',
    "server('a.invalid')",
    "server('b.invalid')",
    "task('each', async () => on(['a.invalid', 'b.invalid'], async (remote) => { await $`sh -c ${`sleep 0.${remote.host.name === 'a.invalid' ? 2 : 1}; echo ${remote.host.name} broke >&2; exit 3`}` }))",
    '',
  ].join('\n')
  const project = makeGitProject('local-failure', { 'deployfile.ts': deployfile })
  try {
    const result = await runDryCli(['build'], project.dir, project.dir)
    assert.equal(result.code, 1, result.stderr)
    assert.match(result.stderr, /^error: task build \(deployfile\.ts:2\) failed at deployfile\.ts:4: local `sh -c \$'echo warming >&2; echo compile error in x\.ts >&2; exit 4'` exited 4: warming \/ compile error in x\.ts$/m)
    // Both fail with the same exit status; each host's line names its own command (the second to fail is not the last one's).
    const each = await runDryCli(['each'], project.dir, project.dir)
    assert.equal(each.code, 1, each.stderr)
    for (const [host, wait] of [['a.invalid', 2], ['b.invalid', 1]] as const) {
      assert.ok(each.stderr.includes(`    ${host}: local \`sh -c $'sleep 0.${wait}; echo ${host} broke >&2; exit 3'\` exited 3: ${host} broke (at deployfile.ts:8)`), each.stderr)
    }
  } finally {
    rmSync(project.dir, { recursive: true, force: true })
  }
})

test("deploy:check makes each linked file's shared directory, a top-level file's being shared itself (no `shared/.`)", async () => {
  const deployfile = `${DEPLOY_PROJECT_FILES['deployfile.ts']}import { set as define } from 'murder'\ndefine('linked_files', ['.env', 'config/db.yml'])\n`
  const project = makeGitProject('check-dirs', { ...DEPLOY_PROJECT_FILES, 'deployfile.ts': deployfile })
  try {
    const result = await runDryCli(['x', 'deploy:check', '--dry-run'], project.dir, project.dir)
    assert.equal(result.code, 0, result.stderr)
    const check = hostCommands(result.stderr).find((line) => line.startsWith('  one.invalid $ { [ -d /srv/shop/shared ]')) ?? ''
    assert.match(check, /mkdir -p \/srv\/shop\/shared \/srv\/shop\/releases \/srv\/shop\/shared\/config;/, result.stderr)
    assert.doesNotMatch(check, /shared\/\.[ ;\]]/)
  } finally {
    rmSync(project.dir, { recursive: true, force: true })
  }
})

test("Capistrano's path helpers: releasePath() is current's path outside a deploy and the new release's from deploy:new_release_path on", async () => {
  const helpers = "import { after, deployPath, currentPath, releasesPath, sharedPath, releasePath, revisionLog, log, task } from 'murder'\n"
  const show = "log(['paths', deployPath(), currentPath(), releasesPath(), sharedPath(), releasePath(), revisionLog()].join(' '))"
  const deployfile = `${DEPLOY_PROJECT_FILES['deployfile.ts']}${helpers}task('paths', async () => ${show})\nafter('deploy:updated', 'paths')\n`
  const project = makeGitProject('path-helpers', { ...DEPLOY_PROJECT_FILES, 'deployfile.ts': deployfile })
  try {
    const alone = await runDryCli(['x', 'paths', '--dry-run'], project.dir, project.dir)
    assert.equal(alone.code, 0, alone.stderr)
    assert.match(alone.stderr, /^paths \/srv\/shop \/srv\/shop\/current \/srv\/shop\/releases \/srv\/shop\/shared \/srv\/shop\/current \/srv\/shop\/revisions\.log$/m)
    const deploy = await runDryCli(['x', 'deploy', '--dry-run', 'deploy_via=copy', 'releases_directory=rel'], project.dir, project.dir)
    assert.equal(deploy.code, 0, deploy.stderr)
    assert.match(deploy.stderr, /^paths \/srv\/shop \/srv\/shop\/current \/srv\/shop\/rel \/srv\/shop\/shared \/srv\/shop\/rel\/\d{14} \/srv\/shop\/revisions\.log$/m)
    // The flow's own: given on the command line, it would send hooks elsewhere than the release made.
    const given = await runDryCli(['x', 'deploy', '--dry-run', 'deploy_via=copy', 'release_path=/tmp/x'], project.dir, project.dir)
    assert.equal(given.code, 2, given.stderr)
    assert.match(given.stderr, /^error: release_path is set by deploy itself as it goes \(for hooks to read\); leave release_path= off the command line\.$/m)
    assert.deepEqual(hostCommands(given.stderr), [])
  } finally {
    rmSync(project.dir, { recursive: true, force: true })
  }
})

test("Capistrano settings murder does not use are said once each; default_env goes before every host's command, and a bad one stops deploy before any host", async () => {
  const settings = "import { set as define } from 'murder'\ndefine('repo_url', 'git@example.com:shop.git')\ndefine('pty', true)\ndefine('default_env', { node_env: 'production', path: '/opt/node/bin:$PATH' })\n"
  const project = makeGitProject('cap-settings', { ...DEPLOY_PROJECT_FILES, 'deployfile.ts': `${DEPLOY_PROJECT_FILES['deployfile.ts']}${settings}` })
  try {
    const result = await runDryCli(['x', 'deploy:check', '--dry-run'], project.dir, project.dir)
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stderr.match(/^warning: repo_url is Capistrano's and murder does not use it: murder deploys a `git archive` of the local repository \(branch=, or release_source=\), not a clone on the servers$/gm)?.length, 1, result.stderr)
    assert.match(result.stderr, /^warning: pty is Capistrano's and murder does not use it: commands run without a pseudo-terminal$/m)
    assert.ok(hostCommands(result.stderr).length > 0, result.stderr)
    for (const line of hostCommands(result.stderr)) assert.ok(line.includes(' $ ( export NODE_ENV=production ; export PATH=/opt/node/bin:"${PATH}" ; '), line)
    const bad = await runDryCli(['x', 'deploy', '--dry-run', 'default_env=production'], project.dir, project.dir)
    assert.equal(bad.code, 2, bad.stderr)
    assert.match(bad.stderr, /^error: default_env must be an object of environment variables, got string "production": set\('default_env', /m)
    assert.deepEqual(hostCommands(bad.stderr), [], 'no host command planned')
  } finally {
    rmSync(project.dir, { recursive: true, force: true })
  }
})

test('deploy:symlink:release alone is refused before any host: it would point current at a release no one made', async () => {
  await inDeployProject('symlink-alone', async (dir, tmp) => {
    for (const task of ['deploy:symlink:release', 'deploy:publishing']) {
      const result = await runDryCli(['x', task, '--dry-run'], dir, tmp)
      assert.equal(result.code, 2, `${task}: ${result.stderr}`)
      assert.match(result.stderr, /deploy:symlink:release runs only inside deploy \(after deploy:create_release\); to switch current to a release already on the hosts, run deploy:rollback rollback_release=NAME\./)
      assert.doesNotMatch(result.stderr, /ln -s/, `${task}: no swap planned`)
    }
  })
})

test('steps that act on the release a deploy makes or a rollback picks are refused alone, before any host', async () => {
  await inDeployProject('steps-alone', async (dir, tmp) => {
    const refusals: [string, string][] = [
      ['deploy:new_release_path', 'deploy:new_release_path runs only inside deploy (after deploy:lock): alone, it would clear half-made releases of a deploy that holds the lock; run `deploy x deploy`.'],
      ['deploy:create_release', 'deploy:create_release runs only inside deploy (after deploy:new_release_path): alone, it would make a release outside the deploy lock; run `deploy x deploy`.'],
      ['deploy:symlink:shared', 'deploy:symlink:shared runs only inside deploy (after deploy:new_release_path): alone, it would link into a release directory no one made; run `deploy x deploy`.'],
      ['deploy:symlink:linked_dirs', 'deploy:symlink:linked_dirs runs only inside deploy (after deploy:new_release_path): alone, it would link into a release directory no one made; run `deploy x deploy`.'],
      ['deploy:set_current_revision', 'deploy:set_current_revision runs only inside deploy (after deploy:new_release_path): alone, it has no new release to write REVISION into; run `deploy x deploy`.'],
      ['deploy:cleanup_rollback', 'deploy:cleanup_rollback runs only inside deploy:rollback (after deploy:revert_release): alone, it would archive and remove the newest release, whatever it is; run `deploy x deploy:rollback`.'],
      ['deploy:log_revision', 'deploy:log_revision runs only inside deploy or deploy:rollback: alone, it has no release to log; run `deploy x deploy`.'],
      // Else deploy:symlink:release after it would swap unguarded, and a failed swap "go back" by removing current.
      ['deploy:revert_release', 'deploy:revert_release runs only inside deploy:rollback (after deploy:starting): alone, it would switch current outside the deploy lock, with no record of where it pointed to go back to; run `deploy x deploy:rollback`.'],
    ]
    for (const [task, message] of refusals) {
      const result = await runDryCli(['x', task, '--dry-run'], dir, tmp)
      assert.equal(result.code, 2, `${task}: ${result.stderr}`)
      assert.ok(result.stderr.includes(`error: ${message}`), result.stderr)
      assert.doesNotMatch(result.stderr, / \$ /, `${task}: no command planned`)
    }
  })
})

test('deploy and deploy:rollback in one run: the second is refused before it touches anything, not silently skipped', async () => {
  await inDeployProject('two-flows', async (dir, tmp) => {
    for (const [first, second] of [['deploy:rollback', 'deploy'], ['deploy', 'deploy:rollback']] as const) {
      const result = await runDryCli(['x', first, second, '--dry-run'], dir, tmp)
      assert.equal(result.code, 2, `${first} ${second}: ${result.stderr}`)
      assert.match(result.stderr, new RegExp(`error: ${second} cannot follow ${first} in one run: their steps run once per run, so it would skip them; run \`deploy x ${second}\` as a command of its own\\.`))
      assert.match(result.stderr, new RegExp(`✔ ${first} `), `${first} ran`)
    }
  })
})

test('deploy:unlock alone says it releases only this run\'s lock, and how to clear one a dead deploy left', async () => {
  await inDeployProject('unlock-alone', async (dir, tmp) => {
    const result = await runDryCli(['x', 'deploy:unlock', '--dry-run'], dir, tmp)
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stderr, /warning: deploy:unlock releases only the lock this run took; to clear one a deploy that died left, run `deploy x deploy:unlock unlock=1` or add unlock=1 to your next deploy or deploy:rollback$/m)
    const deployed = await runDryCli(['x', 'deploy', '--dry-run'], dir, tmp)
    assert.equal(deployed.code, 0, deployed.stderr)
    assert.doesNotMatch(deployed.stderr, /releases only the lock this run took/, 'not said inside deploy')
  })
})

test('--waves on a run that swaps no current is said to have had no effect', async () => {
  await inDeployProject('waves-unused', async (dir, tmp) => {
    const check = await runDryCli(['x', 'deploy:check', '--waves', '1,100%', '--dry-run'], dir, tmp)
    assert.equal(check.code, 0, check.stderr)
    assert.match(check.stderr, /warning: waves 1,100% had no effect: only deploy and deploy:rollback swap current wave by wave, and neither did in this run/)
    const deployed = await runDryCli(['x', 'deploy', '--waves', '1,100%', '--dry-run'], dir, tmp)
    assert.equal(deployed.code, 0, deployed.stderr)
    assert.doesNotMatch(deployed.stderr, /had no effect/)
  })
})

test('deploy_via murder under HOSTS= serves the swarm from the tracker and seeder outside it, and releases only inside', async () => {
  await inDeployProject('narrowed', async (dir, tmp) => {
    const result = await runDryCli(['x', 'deploy', '--dry-run', 'deploy_via=murder', 'HOSTS=two.invalid'], dir, tmp)
    assert.equal(result.code, 0, result.stderr)
    const on = (host: string) => hostCommands(result.stderr).filter((line) => line.startsWith(`  ${host} $ `))
    // one.invalid, the first server, is the tracker and seeder by default (Murder's roles).
    assert.ok(on('one.invalid').some((line) => / tracker --state /.test(line)), 'the tracker starts outside HOSTS=')
    assert.ok(on('one.invalid').some((line) => / seed --state /.test(line)), 'the seeder starts outside HOSTS=')
    assert.deepEqual(on('one.invalid').filter((line) => /deploy\.lock|\$ unpack |ln -sfn|revisions\.log/.test(line)), [], 'no release, lock or switch outside HOSTS=')
    for (const step of ['deploy.lock', '$ unpack ', 'ln -sfn', 'revisions.log']) assert.ok(on('two.invalid').some((line) => line.includes(step)), step)
    assert.doesNotMatch(result.stderr, /^on\(\): /m)
  })
})

test('deploy_via murder has each host\'s held agent command unpack the release, the key with the request on its stdin; swarm_encryption=false sends none', async () => {
  await inDeployProject('encryption', async (dir, tmp) => {
    const extractions = (stderr: string) => hostCommands(stderr).filter((line) => line.startsWith('  two.invalid $ unpack ') && line.includes('.incoming'))
    const sealed = await runDryCli(['x', 'deploy', '--dry-run'], dir, tmp)
    assert.equal(sealed.code, 0, sealed.stderr)
    assert.match(sealed.stderr, /the release would be encrypted here with a new key \(swarm_encryption\)/)
    const [unpack] = extractions(sealed.stderr)
    assert.match(unpack ?? '', /^ {2}two\.invalid \$ unpack \/tmp\/shop-\d{14}\.tgz into \/srv\/shop\/releases\/\.\d{14}\.incoming, renamed to \/srv\/shop\/releases\/\d{14} \(asked of the held agent command, the key with the request on its stdin\)$/, sealed.stderr)
    assert.doesNotMatch(sealed.stderr, /tar -xzf|[0-9a-f]{64}/, 'no plain untar, no key anywhere')
    const plain = await runDryCli(['x', 'deploy', '--dry-run', 'swarm_encryption=false'], dir, tmp)
    assert.equal(plain.code, 0, plain.stderr)
    assert.doesNotMatch(plain.stderr, /encrypted|the key/)
    assert.match(extractions(plain.stderr)[0] ?? '', / unpack \/tmp\/shop-\d{14}\.tgz into .*\.incoming, renamed to .* \(asked of the held agent command\)$/, plain.stderr)
  })
})
