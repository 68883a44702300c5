// A small release for the tests that unpack one: src/app.js and src/config/secret.yml (a secret, so
// that a test can look for its bytes), packed into release.tgz in a fresh directory.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function sampleRelease(prefix: string, appJs: string): { dir: string; tgz: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  mkdirSync(join(dir, 'src', 'config'), { recursive: true })
  writeFileSync(join(dir, 'src', 'app.js'), appJs)
  writeFileSync(join(dir, 'src', 'config', 'secret.yml'), 'password: hunter2\n')
  const tgz = join(dir, 'release.tgz')
  execFileSync('tar', ['-czf', tgz, '-C', join(dir, 'src'), '.'])
  return { dir, tgz }
}
