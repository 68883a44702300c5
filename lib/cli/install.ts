// `deploy install [STAGES=staging,production]`, as `cap install`: a deployfile and a stage file per
// stage to start from, each written only where no such file is (run again, it adds new stages).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { ConfigError, UsageError } from '../errors.ts'
import { DEPLOYFILE_NAME } from '../config/find-deployfile.ts'
import { STAGE_NAME, stageFilePath } from '../inventory/stage-file.ts'

const DEFAULT_STAGES = ['staging', 'production']

/** What `install` did to each file, for the lines it prints: `create roles/qa.yaml`, `exists deployfile.ts`. */
export interface InstallStep {
  action: 'create' | 'exists'
  path: string
}

/**
 * Writes the missing files into `root` (none with `dryRun`), telling `onStep` of each as it goes,
 * so that a failure half-way leaves the user knowing what was written. `stagesWord` is STAGES= as
 * given (comma-separated).
 */
export function install(root: string, stagesWord: string | undefined, onStep: (step: InstallStep) => void, { dryRun = false } = {}): void {
  const stages = readStages(stagesWord)
  const application = applicationName(root)
  const files: [string, string][] = [
    [join(root, DEPLOYFILE_NAME), deployfileTemplate(application)],
    ...stages.map((stage): [string, string] => [stageFilePath(root, stage), stageTemplate(stage, application)]),
  ]
  for (const [path, text] of files) {
    if (existsSync(path)) {
      onStep({ action: 'exists', path })
      continue
    }
    if (!dryRun) {
      try {
        mkdirSync(dirname(path), { recursive: true })
        writeFileSync(path, text, { flag: 'wx' })
      } catch (error) {
        throw new ConfigError(`cannot write it: ${(error as Error).message}`, path)
      }
    }
    onStep({ action: 'create', path })
  }
}

/** Where `install` writes when no deployfile is found: the Node project around `cwd` (its package.json), else `cwd`. */
export function installRoot(cwd: string): string {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) return resolve(cwd)
  }
}

function readStages(word: string | undefined): string[] {
  if (word === undefined) return DEFAULT_STAGES
  const stages = word.split(',').map((stage) => stage.trim()).filter((stage) => stage !== '')
  if (stages.length === 0) throw new UsageError(`STAGES= names no stage; write STAGES=staging,production.`)
  const bad = stages.find((stage) => !STAGE_NAME.test(stage))
  if (bad !== undefined) throw new UsageError(`Invalid stage name "${bad}" in STAGES=; use letters, digits, "_" and "-" (it names roles/STAGE.yaml).`)
  if (stages.includes('install')) throw new UsageError('A stage cannot be named "install": `deploy install` would run the installer, never that stage; choose another name.')
  return [...new Set(stages)]
}

/** package.json's name without its scope, else the directory's name, reduced to what a path and a process name take. */
function applicationName(root: string): string {
  let name = basename(root)
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name?: unknown }
    if (typeof pkg.name === 'string' && pkg.name !== '') name = pkg.name.replace(/^@[^/]*\//, '')
  } catch {
    // No package.json, or not JSON: the directory's name will do.
  }
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'app'
}

function deployfileTemplate(application: string): string {
  return `// How this project is deployed: \`npx deploy -T\` lists the tasks, \`npx deploy STAGE deploy\`
// deploys the committed HEAD to the servers of roles/STAGE.yaml (\`--dry-run\` first shows how).
import { set } from 'murder'

set('application', '${application}')
set('deploy_to', '/var/www/${application}')
set('keep_releases', 5)
// Kept in DEPLOY_TO/shared and linked into every release:
// set('linked_files', ['.env'])
// set('linked_dirs', ['log'])

// Once \`current\` points at the new release on every server, restart the app
// (import after, on and roles from 'murder' too; with --waves, restart in deploy:verify instead,
// which runs after each wave: see the README):
// after('deploy:published', 'app:restart', async () => {
//   await on(roles('app'), (remote) => remote.run(['sudo', 'systemctl', 'restart', '${application}']))
// })
`
}

function stageTemplate(stage: string, application: string): string {
  return `# The ${stage} stage: \`npx deploy ${stage} deploy\`. Each server is user@host:port with its roles;
# the SSH settings (keys, ProxyJump) come from ~/.ssh/config, or the file ssh_config names.
# variables:            # this stage's own values, over the deployfile's set()
#   deploy_to: /srv/${application}
servers:
  - host: deploy@${stage}.example.com
    roles: [app, web]
`
}
