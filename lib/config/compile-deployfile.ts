// The deployfile is TypeScript; esbuild compiles it, with the local modules it imports, into one
// ES module in memory (a few milliseconds, in the CLI's own thread). Installed packages stay
// outside it, imported by the absolute path Node would resolve from the deployfile's directory,
// and `murder` is the very module instance the CLI runs, wherever murder is installed.
import { readFile } from 'node:fs/promises'
import { isBuiltin } from 'node:module'
import { dirname, extname, resolve, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Loader, Message, Plugin } from 'esbuild'

/** What esbuild throws when a build fails: its messages, each with a file, line and column. */
export interface CompileFailure extends Error {
  errors: Message[]
}

/** The module `import … from 'murder'` means: the CLI bundle when running from it, else lib/index.ts. */
export const MURDER_URL = import.meta.url.endsWith('.ts') ? new URL('../index.ts', import.meta.url).href : import.meta.url

const RESOLVING = Symbol('resolving a package')
const LOADERS: Record<string, Loader> = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.jsx': 'jsx' }
/** Each local module's own `import.meta`, `__dirname` and `__filename` (see ownModuleMeta). */
const META = '__murderModuleMeta'
const NODE_MODULES = `${sep}node_modules${sep}`

/**
 * Compiles the deployfile at `path` into the text of an ES module meant to be written to
 * `outfile` (its inline source map points from there back to the sources, so stack traces name
 * the deployfile's lines).
 */
export async function compileDeployfile(path: string, outfile: string): Promise<string> {
  const esbuild = await import('esbuild')
  const prefixes = new Map<string, string>()
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
    // A task file is imported for what it registers: a project's "sideEffects" (written for its
    // web bundles) must not drop it.
    ignoreAnnotations: true,
    define: { 'import.meta': META, __dirname: `${META}.dirname`, __filename: `${META}.filename` },
    // CommonJS helpers keep `require` for built-ins and packages.
    banner: { js: `import { createRequire as __murderCreateRequire } from 'node:module'; const require = __murderCreateRequire(${JSON.stringify(path)});` },
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'silent',
    plugins: [installedPackagesOutside(), ownModuleMeta(prefixes)],
  }).catch((error: unknown) => {
    unshiftFirstLines(error, prefixes)
    throw error
  })
  const [output] = result.outputFiles
  if (output === undefined) throw new Error(`esbuild produced nothing for ${path}`)
  return output.text
}

/**
 * Leaves installed packages out of the bundle, each imported by the absolute path (URL for
 * `import`) of the file Node would load. A bare name that resolves to the project's own sources
 * (tsconfig paths, package.json imports, a workspace package's TypeScript) is compiled in.
 */
function installedPackagesOutside(): Plugin {
  return {
    name: 'installed-packages-outside',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === RESOLVING) return undefined
        if (args.path === 'murder') return { path: MURDER_URL, external: true }
        if (isBuiltin(args.path)) return { path: args.path, external: true }
        const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: RESOLVING })
        if (resolved.errors.length > 0) return { errors: resolved.errors }
        const isInstalled = resolved.path.includes(NODE_MODULES) && !(extname(resolved.path) in LOADERS)
        if (!isInstalled) return { path: resolved.path }
        return { path: args.kind === 'require-call' ? resolved.path : pathToFileURL(resolved.path).href, external: true }
      })
    },
  }
}

/**
 * Bundled, every module would see the compiled file's `import.meta`; `define` points each local
 * module's `import.meta`, `__dirname` and `__filename` at a constant declared on its own first line
 * (the same line, so the source map's lines stay true).
 */
function ownModuleMeta(prefixes: Map<string, string>): Plugin {
  return {
    name: 'own-module-meta',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        if (args.path.includes(NODE_MODULES)) return undefined
        const source = await readFile(args.path, 'utf8')
        const url = JSON.stringify(pathToFileURL(args.path).href)
        const directory = JSON.stringify(dirname(args.path))
        const resolveSpecifier = `(specifier) => /^\\.{0,2}\\//.test(specifier) ? new URL(specifier, ${url}).href : new URL(require.resolve(specifier, { paths: [${directory}] }), 'file:').href`
        const meta = `const ${META} = { url: ${url}, filename: ${JSON.stringify(args.path)}, dirname: ${directory}, resolve: ${resolveSpecifier} };`
        // A shebang line gives way to the declaration (it means nothing inside a bundle).
        const hasShebang = source.startsWith('#!')
        if (!hasShebang) prefixes.set(args.path, meta)
        const contents = hasShebang ? source.replace(/^#![^\n]*/, () => meta) : `${meta}${source}`
        return { contents, loader: LOADERS[extname(args.path)] ?? 'js' }
      })
    },
  }
}

/**
 * esbuild places a message on a first line after the declaration ownModuleMeta put there: moves
 * it back to where the user's text has it.
 */
function unshiftFirstLines(error: unknown, prefixes: ReadonlyMap<string, string>): void {
  for (const message of (error as Partial<CompileFailure>).errors ?? []) {
    const location = message.location
    if (location?.line !== 1) continue
    const prefix = prefixes.get(resolve(location.file))
    if (prefix === undefined) continue
    // esbuild counts columns in UTF-8 bytes (the declaration holds the path, maybe not ASCII).
    location.column = Math.max(0, location.column - Buffer.byteLength(prefix))
    location.lineText = location.lineText.slice(prefix.length)
  }
}
