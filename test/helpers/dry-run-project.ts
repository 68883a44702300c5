// Throwaway git projects and dry runs of the CLI from source, for unit tests of what `deploy`
// checks and prints before any host is touched. Dry runs connect to nothing.
import { spawn, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), 'cli-from-source.ts')

export interface DryRunResult {
  code: number | null
  stderr: string
  stdout: string
}

/** A git repository with one commit holding `files`; returns its directory and HEAD. */
export function makeGitProject(name: string, files: Record<string, string>): { dir: string; sha: string } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), `murder-test-${name}-`)))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: 'pipe' }).trim()
  git('init', '-q', '-b', 'main')
  git('add', '.')
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'first')
  return { dir, sha: git('rev-parse', 'HEAD') }
}

/** A deployfile and a stage `x` of two hosts that do not exist (a dry run never looks them up). */
export const DEPLOY_PROJECT_FILES = {
  'deployfile.ts': "import { set } from 'murder'\nset('application', 'shop')\nset('deploy_to', '/srv/shop')\n",
  'roles/x.yaml': 'servers:\n  - host: deploy@one.invalid\n    roles: [app]\n  - host: deploy@two.invalid\n    roles: [app]\n',
}

/** Runs `deploy ARGS` from `cwd` with TMPDIR at `tmp`, so a test sees what a run leaves there. */
export function runDryCli(args: readonly string[], cwd: string, tmp: string): Promise<DryRunResult> {
  return new Promise((resolvePromise, reject) => {
    // tsx by its resolved URL: the throwaway project has no node_modules.
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CLI, ...args], {
      cwd,
      env: { ...process.env, TMPDIR: tmp, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let [stdout, stderr] = ['', '']
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({ code, stderr, stdout })
    })
  })
}

/** Lines a dry run prints for a command on a host: `  HOST $ COMMAND`. */
export function hostCommands(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /^ {2}\S+ \$ /.test(line))
}
