// `deploy STAGE doctor`, as `cap STAGE doctor`: what a run of this stage would work with (the
// environment, every variable and where it was set, every server and its roles), printed to stdout
// (to keep or compare: `deploy prod doctor > prod.txt`) without connecting to any server or
// evaluating a variable `set` gave as a function. Secrets are masked at any depth.
import { inspect } from 'node:util'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fetch, invoke, namespace, task } from '../lib/index.ts'
import { deployfileIfLoaded, projectRootIfLoaded } from '../lib/config/project-root.ts'
import { defaultSshConfigPath } from '../lib/inventory/ssh-config.ts'
import { applyFilter } from '../lib/inventory/filter.ts'
import { stageFilePath } from '../lib/inventory/stage-file.ts'
import { PACKAGE_ROOT, packageVersion } from '../lib/package-root.ts'
import { maskedForShowing } from '../lib/report/redact.ts'
import { currentSession } from '../lib/runner/session.ts'
import type { Host } from '../lib/inventory/host.ts'

task('doctor', { desc: "Show this stage's environment, variables and servers (Capistrano's doctor)" }, async () => {
  for (const part of ['environment', 'variables', 'servers']) await invoke(`doctor:${part}`)
})

namespace('doctor', () => {
  task('environment', { desc: 'Show the Node, murder, deployfile, stage and ssh_config this run uses' }, async () => {
    const root = projectRootIfLoaded()
    const stage = fetch<string | undefined>('stage')
    const sshConfig = currentSession().sshConfigPath
    section('Environment', [
      ['node', `${process.version} (${process.execPath})`],
      ['murder', packageVersion()],
      ['deployfile', deployfileIfLoaded() ?? '(none loaded)'],
      ['stage', stage === undefined ? '(none named: only the servers the deployfile declares)' : `${stage} (${shownPath(root === undefined ? stage : stageFilePath(root, stage))})`],
      ['ssh_config', sshConfig === undefined ? `${defaultSshConfigPath()} (the default)` : shownPath(sshConfig)],
    ])
  })

  task('variables', { desc: 'Show every variable, its value and where it was set' }, async () => {
    const { variables } = currentSession()
    const names = variables.names()
    section(`Variables (${names.length})`, names.map((name) => [name, shownValue(name, variables.peek(name)), shownOrigin(variables.originOf(name))]))
  })

  task('servers', { desc: 'Show every server of the stage, its roles and properties, and which ROLES=/HOSTS= leave out' }, async () => {
    const session = currentSession()
    const servers = session.inventory.all()
    const selected = new Set(applyFilter(servers, session.filter).map((host) => host.name))
    const left = servers.length - selected.size
    section(`Servers (${servers.length}${left > 0 ? `; ${left} left out by ROLES=/HOSTS=` : ''})`, servers.map((host) => serverRow(host, selected.has(host.name))))
  })
})

/** A heading and its rows as a table, each column padded to its widest cell. */
function section(heading: string, rows: readonly (readonly string[])[]): void {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, column) => (widths[column] = Math.max(widths[column] ?? 0, cell.length)))
  const lines = rows.map((row) => `    ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()}`)
  currentSession().stdout.write([heading, ...lines].map((line) => `${line}\n`).join(''))
}

function shownValue(name: string, held: { value: unknown; isLazy: boolean; description?: string } | undefined): string {
  if (held === undefined) return ''
  if (held.isLazy) return `(${held.description ?? 'a function: evaluated at its first fetch'})`
  return oneLine(maskedForShowing(held.value, name))
}

/** Plain data as JSON (as a stage file or `set` would give it); anything else (a Date, a class) as Node shows it. */
function oneLine(value: unknown): string {
  return isPlainData(value) ? JSON.stringify(value) : inspect(value, { breakLength: Infinity, compact: true, depth: 6 })
}

function isPlainData(value: unknown): boolean {
  if (value === null || ['string', 'boolean'].includes(typeof value)) return true
  if (typeof value === 'number') return Number.isFinite(value)
  if (Array.isArray(value)) return value.every(isPlainData)
  return typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype && Object.values(value as object).every(isPlainData)
}

/** `deployfile.ts:12`, `command line`, `roles/x.yaml`; a default murder's tasks set is said so rather than as a path into its package. */
function shownOrigin(origin: string | undefined): string {
  if (origin === undefined) return ''
  const file = origin.replace(/:\d+$/, '')
  if (resolve(file).startsWith(join(PACKAGE_ROOT, 'tasks') + sep)) return "murder's default"
  return isAbsolute(file) ? shownPath(origin) : origin
}

/** A path under the project root as relative to it (roles/x.yaml), others as they are. */
function shownPath(path: string): string {
  const root = projectRootIfLoaded()
  if (root === undefined || !path.startsWith(root + sep)) return path
  return relative(root, path)
}

function serverRow(host: Host, isSelected: boolean): string[] {
  const address = `${host.user === undefined ? '' : `${host.user}@`}${host.hostname}${host.port === undefined ? '' : `:${host.port}`}`
  const properties = Object.entries(host.properties).map(([key, value]) => `${key}: ${oneLine(maskedForShowing(value, key))}`)
  return [address, `roles: ${[...host.roles].join(', ') || '(none)'}`, [...(isSelected ? [] : ['(left out by ROLES=/HOSTS=)']), ...properties].join(', ')]
}
