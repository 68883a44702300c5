// @ts-check
// The CLI runs from dist/murder.mjs, one ESM bundle of lib/ and tasks/ (dependencies stay in
// node_modules), rebuilt by esbuild whenever a source is newer, as the agent bundle is. Loading the
// TypeScript sources through tsx's loader thread cost every run about 0.4 s of start-up.
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const CLI_BUNDLE = join(ROOT, 'dist/murder.mjs')
const ENTRY = join(ROOT, 'lib/cli/entry.ts')
const SOURCE_DIRECTORIES = ['lib', 'tasks'].map((name) => join(ROOT, name))

/** Newest modification time of the bundle's sources (every file under lib/ and tasks/, and this builder). */
function newestSourceMs() {
  let newest = statSync(fileURLToPath(import.meta.url)).mtimeMs
  const pending = [...SOURCE_DIRECTORIES]
  for (let directory = pending.pop(); directory !== undefined; directory = pending.pop()) {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name)
      if (entry.isDirectory()) pending.push(path)
      else if (entry.isFile()) newest = Math.max(newest, statSync(path).mtimeMs)
    }
  }
  return newest
}

/** Builds dist/murder.mjs unless it is newer than every source; returns its path. */
export async function ensureCliBundle() {
  if (existsSync(CLI_BUNDLE) && statSync(CLI_BUNDLE).mtimeMs >= newestSourceMs()) return CLI_BUNDLE
  const esbuild = await import('esbuild')
  mkdirSync(dirname(CLI_BUNDLE), { recursive: true })
  const { outputFiles } = await esbuild.build({
    entryPoints: [ENTRY],
    outfile: CLI_BUNDLE,
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    // Stack traces of internal errors, and the task locations taken from them, name lib/ and tasks/ files.
    sourcemap: 'linked',
    logLevel: 'error',
  })
  // Each file is written beside its place and renamed over it, so a run starting meanwhile never
  // reads half a file; the map first, so the bundle never points at an older one.
  for (const file of [...outputFiles].sort((a, b) => Number(b.path.endsWith('.map')) - Number(a.path.endsWith('.map')))) {
    const partial = `${file.path}.${process.pid}.tmp`
    writeFileSync(partial, file.contents)
    renameSync(partial, file.path)
  }
  return CLI_BUNDLE
}
