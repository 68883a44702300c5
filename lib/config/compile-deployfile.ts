// The deployfile is TypeScript; esbuild compiles it, with the local modules it imports, into one
// ES module in memory (a few milliseconds, in the CLI's own thread). Packages stay outside it,
// imported by absolute URL as Node would resolve them from the deployfile's directory, and
// `murder` is the very module instance the CLI runs, wherever murder is installed.
import { readFile } from 'node:fs/promises'
import { isBuiltin } from 'node:module'
import { dirname, extname } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Loader, Message, Plugin } from 'esbuild'

/** What esbuild throws when a build fails: its messages, each with a file, line and column. */
export interface CompileFailure extends Error {
  errors: Message[]
}

/** The module `import … from 'murder'` means: the CLI bundle when running from it, else lib/index.ts. */
const MURDER_URL = import.meta.url.endsWith('.ts') ? new URL('../index.ts', import.meta.url).href : import.meta.url

const RESOLVING = Symbol('resolving a package')
const LOADERS: Record<string, Loader> = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.jsx': 'jsx' }

/**
 * Compiles the deployfile at `path` into the text of an ES module meant to be written to
 * `outfile` (its inline source map points from there back to the sources, so stack traces name
 * the deployfile's lines).
 */
export async function compileDeployfile(path: string, outfile: string): Promise<string> {
  const esbuild = await import('esbuild')
  const result = await esbuild.build({
    entryPoints: [path],
    outfile,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node}`,
    // Resolve packages as Node does: no "module" field or condition.
    conditions: [],
    mainFields: ['main'],
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'silent',
    plugins: [packagesByUrl(), ownImportMeta()],
  })
  const [output] = result.outputFiles
  if (output === undefined) throw new Error(`esbuild produced nothing for ${path}`)
  return output.text
}

/** Leaves packages out of the bundle, each imported by the absolute URL of the file Node would load. */
function packagesByUrl(): Plugin {
  return {
    name: 'packages-by-url',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === RESOLVING) return undefined
        if (args.path === 'murder') return { path: MURDER_URL, external: true }
        if (isBuiltin(args.path)) return { path: args.path, external: true }
        const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: RESOLVING })
        if (resolved.errors.length > 0) return { errors: resolved.errors }
        return { path: pathToFileURL(resolved.path).href, external: true }
      })
    },
  }
}

/**
 * Bundled, every module would see the compiled file's `import.meta`; each local module keeps its
 * own `url`, `filename` and `dirname`, e.g. for `new URL('./config.json', import.meta.url)`.
 */
function ownImportMeta(): Plugin {
  return {
    name: 'own-import-meta',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8')
        const loader = LOADERS[extname(args.path)] ?? 'js'
        if (!source.includes('import.meta')) return { contents: source, loader }
        const contents = source
          .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href))
          .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path))
          .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)))
        return { contents, loader }
      })
    },
  }
}
