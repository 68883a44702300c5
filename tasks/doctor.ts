// `deploy STAGE doctor`, as `cap STAGE doctor`: what a run of this stage would work with (the
// environment, every variable and where it was set, every server and its roles), printed without
// connecting to any server or evaluating a variable `set` gave as a function.
import { inspect } from 'node:util'
import { join, relative, resolve, sep } from 'node:path'
import { fetch, invoke, log, namespace, task } from '../lib/index.ts'
import { deployfileIfLoaded, projectRootIfLoaded } from '../lib/config/project-root.ts'
import { stageFilePath } from '../lib/inventory/stage-file.ts'
import { PACKAGE_ROOT, packageVersion } from '../lib/package-root.ts'
import { isSecretName, MASK } from '../lib/report/redact.ts'
import { currentSession } from '../lib/runner/session.ts'
import type { Host } from '../lib/inventory/host.ts'

task('doctor', { desc: "Show this stage's environment, variables and servers (Capistrano's doctor)" }, async () => {
  for (const part of ['environment', 'variables', 'servers']) await invoke(`doctor:${part}`)
})

namespace('doctor', () => {
  task('environment', { desc: 'Show the Node, murder, deployfile and stage this run uses' }, async () => {
    const root = projectRootIfLoaded()
    const stage = fetch<string | undefined>('stage')
    const rows: [string, string][] = [
      ['node', `${process.version} (${process.execPath})`],
      ['murder', packageVersion()],
      ['deployfile', deployfileIfLoaded() ?? '(none loaded)'],
      ['stage', stage === undefined ? '(none named)' : `${stage} (${root === undefined ? '' : relative(root, stageFilePath(root, stage))})`],
    ]
    log('Environment')
    for (const line of table(rows)) log(`    ${line}`)
  })

  task('variables', { desc: 'Show every variable, its value and where it was set' }, async () => {
    const { variables } = currentSession()
    const names = variables.names()
    log(`Variables (${names.length})`)
    const rows = names.map((name): [string, string, string] => [name, shownValue(name, variables.peek(name)), shownOrigin(variables.originOf(name))])
    for (const line of table(rows)) log(`    ${line}`)
  })

  task('servers', { desc: 'Show every server of the stage, its roles and properties' }, async () => {
    const servers = currentSession().inventory.all()
    log(`Servers (${servers.length})`)
    for (const line of table(servers.map(serverRow))) log(`    ${line}`)
  })
})

function shownValue(name: string, held: { value: unknown; isLazy: boolean } | undefined): string {
  if (held === undefined) return ''
  if (held.isLazy) return '(a function: evaluated at its first fetch)'
  if (isSecretName(name) && held.value !== undefined && held.value !== null && held.value !== '') return `${MASK} (named as a secret)`
  return typeof held.value === 'string' ? JSON.stringify(held.value) : inspect(held.value, { breakLength: Infinity, depth: 4 })
}

/** `deployfile.ts:12`, `command line`, `roles/x.yaml`; a default murder's tasks set, said so rather than as a path into its package. */
function shownOrigin(origin: string | undefined): string {
  if (origin === undefined) return ''
  const file = origin.replace(/:\d+$/, '')
  return resolve(file).startsWith(join(PACKAGE_ROOT, 'tasks') + sep) ? "murder's default" : origin
}

function serverRow(host: Host): [string, string, string] {
  const address = `${host.user === undefined ? '' : `${host.user}@`}${host.hostname}${host.port === undefined ? '' : `:${host.port}`}`
  const properties = Object.entries(host.properties).map(([key, value]) => `${key}: ${typeof value === 'string' ? value : inspect(value, { breakLength: Infinity })}`)
  return [address, `roles: ${[...host.roles].join(', ') || '(none)'}`, properties.join(', ')]
}

/** Rows as lines, each column padded to its widest cell. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, column) => (widths[column] = Math.max(widths[column] ?? 0, cell.length)))
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd())
}
