import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = join(REPO_ROOT, 'bin/deploy.js')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the real `deploy` CLI as a user would; NO_COLOR keeps output assertable. */
export function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; onSpawn?: (child: ChildProcess) => void } = {}
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    options.onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 240_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({ code, stdout, stderr })
    })
  })
}

/**
 * A throwaway project under test/.work/NAME holding a fixture deployfile and the farm's stage file
 * (inside the repo, so `import … from 'murder'` resolves to this package).
 */
export function makeProject(name: string, deployfileFixture: string, extraFiles: Record<string, string> = {}): string {
  const dir = join(REPO_ROOT, 'test/.work', name)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(dir, 'roles'), { recursive: true })
  copyFileSync(join(REPO_ROOT, 'test/fixtures/deployfiles', deployfileFixture), join(dir, 'deployfile.ts'))
  const farmStage = readFileSync(join(REPO_ROOT, 'roles/farm.yaml'), 'utf8').replace(
    /^ssh_config: (\S+)/m,
    (_, path: string) => `ssh_config: ${resolve(REPO_ROOT, path)}`
  )
  writeFileSync(join(dir, 'roles/farm.yaml'), farmStage)
  for (const [path, text] of Object.entries(extraFiles)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

/** The last non-empty stderr line starting with `error:` (the one-line error of a failed run). */
export function errorLine(result: CliResult): string {
  return result.stderr.split('\n').filter((line) => line.startsWith('error:')).at(-1) ?? ''
}
