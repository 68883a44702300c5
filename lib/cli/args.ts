import { parseArgs } from 'node:util'
import { UsageError } from '../errors.ts'
import { parseFilterList } from '../inventory/filter.ts'

export type Verbosity = 'quiet' | 'normal' | 'verbose'

export type RunRequest =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'list'; pattern: string | undefined; words: string[]; file: string | undefined; environment: Record<string, string> }
  | {
      kind: 'run'
      /** Stage and task names, in order; the CLI decides whether the first names a stage. */
      words: string[]
      variables: Record<string, string>
      /** Every key=value word as written: as Rake does, each is put in the environment too (`process.env.BRANCH`). */
      environment: Record<string, string>
      file: string | undefined
      dryRun: boolean
      roles: string[]
      hosts: string[]
      concurrency: number | undefined
      verbosity: Verbosity
    }

const FILTER_VARIABLES = new Set(['ROLES', 'HOSTS'])
/**
 * Words a user may write for a filter; as variables they would silently target every host. Any
 * spelling of HOSTS/ROLES, and HOST/ROLE in capitals; lowercase `host=` and `role=` stay free for
 * deployfiles that fetch such variables.
 */
function filterLookalike(key: string): 'ROLES' | 'HOSTS' | undefined {
  const upper = key.toUpperCase()
  const isOtherSpelling = (upper === 'HOSTS' || upper === 'ROLES') && key !== upper
  const isSingular = key === 'HOST' || key === 'ROLE'
  if (!isOtherSpelling && !isSingular) return undefined
  return upper.startsWith('HOST') ? 'HOSTS' : 'ROLES'
}

/** cap's options murder does not take, and what does their work here. */
const CAP_OPTIONS: Readonly<Record<string, string>> = {
  '-p': "cap's --print-config-variables is `deploy STAGE doctor:variables` here (each variable, its value and where it was set).",
  '--print-config-variables': 'that is `deploy STAGE doctor:variables` here (each variable, its value and where it was set).',
  '-t': "cap's --trace is -v (--verbose) here; a deployfile's error already names its line.",
  '--trace': 'use -v (--verbose); a deployfile\'s error already names its line.',
  '-D': "cap's --describe is -T here (a description's first line; the deployfile has the rest).",
  '--describe': 'use -T (a description\'s first line; the deployfile has the rest).',
  '-P': "cap's --prereqs has no counterpart: -T lists the tasks, and the deployfile's before/after say what runs around them.",
  '--prereqs': 'no counterpart here: -T lists the tasks, and the deployfile\'s before/after say what runs around them.',
}

/** The run's own settings given as key=value (the README's command-line table). */
const RUN_SETTINGS = ['max_fail', 'ssh_connect_timeout', 'ssh_persistent_shell', 'transfer_concurrency']

/** The setting a key is another spelling of (`MAX_FAIL`, `maxfail`, `max-fail`): taken as a variable of its own, it would do nothing. */
function settingLookalike(key: string): string | undefined {
  const squashed = (text: string) => text.toLowerCase().replace(/_/g, '')
  return RUN_SETTINGS.find((setting) => setting !== key && squashed(setting) === squashed(key))
}

/** argv (without node and the script) → what to do. Pure: the environment is passed in. */
export function parseCommandLine(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): RunRequest {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        tasks: { type: 'boolean', short: 'T' },
        'dry-run': { type: 'boolean', short: 'n' },
        roles: { type: 'string', short: 'r' },
        hosts: { type: 'string', short: 'z' },
        concurrency: { type: 'string', short: 'c' },
        file: { type: 'string', short: 'f' },
        verbose: { type: 'boolean', short: 'v' },
        quiet: { type: 'boolean', short: 'q' },
        version: { type: 'boolean', short: 'V' },
        help: { type: 'boolean', short: 'h' },
        waves: { type: 'string' },
      },
    })
  } catch (error) {
    // Node's message goes on about positionals after `--`; its first sentence names the culprit.
    const first = (error as Error).message.split('\n')[0]?.split('. ')[0]?.replace(/\.$/, '') ?? 'Bad arguments'
    const option = /^Unknown option '([^']+)'/.exec(first)?.[1]
    const instead = option === undefined ? undefined : CAP_OPTIONS[option]
    throw new UsageError(instead === undefined ? `${first}. Run \`deploy --help\` for usage.` : `${first}: ${instead}`)
  }
  const { values, positionals } = parsed
  if (values.help) return { kind: 'help' }
  if (values.version) return { kind: 'version' }

  const variables: Record<string, string> = {}
  const words: string[] = []
  for (const word of positionals) {
    const equals = word.indexOf('=')
    if (equals === -1) {
      words.push(word)
      continue
    }
    const key = word.slice(0, equals)
    if (key === '') throw new UsageError(`Empty variable name in "${word}"; write key=value.`)
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      // Not the value: it may be the secret the name was meant to hide.
      throw new UsageError(`Invalid variable name "${key}" (in ${key}=…); use letters, digits and "_".`)
    }
    const filter = filterLookalike(key)
    if (filter !== undefined) {
      throw new UsageError(`"${word}" is not a filter; did you mean ${filter}=${word.slice(equals + 1)}? Filters are written HOSTS= and ROLES=.`)
    }
    const setting = settingLookalike(key)
    if (setting !== undefined) throw new UsageError(`"${word}" is not a setting; did you mean ${setting}=${word.slice(equals + 1)}?`)
    variables[key] = word.slice(equals + 1)
  }
  const environment = { ...variables }
  if (values.tasks) return { kind: 'list', pattern: words.at(-1), words, file: values.file, environment }
  takeOnce(variables, 'waves', values.waves, `--waves ${JSON.stringify(values.waves)}`)
  // Capistrano 3 reads the release to roll back to from ROLLBACK_RELEASE in the environment (where
  // `cap … ROLLBACK_RELEASE=…` puts it too); a key=value word wins over the environment, as for filters.
  const capistranoRollback = variables['ROLLBACK_RELEASE'] ?? env['ROLLBACK_RELEASE']
  delete variables['ROLLBACK_RELEASE']
  takeOnce(variables, 'rollback_release', capistranoRollback, `ROLLBACK_RELEASE=${capistranoRollback}`)

  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency)
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new UsageError(`--concurrency must be a positive integer, got "${values.concurrency}".`)
  }
  if (values.quiet && values.verbose) throw new UsageError('--quiet and --verbose cannot be used together.')

  const roles = readFilter('ROLES', values.roles, variables, env)
  const hosts = readFilter('HOSTS', values.hosts, variables, env)
  for (const name of FILTER_VARIABLES) delete variables[name]

  return {
    kind: 'run',
    words,
    variables,
    environment,
    file: values.file,
    dryRun: values['dry-run'] ?? false,
    roles,
    hosts,
    concurrency,
    verbosity: values.quiet ? 'quiet' : values.verbose ? 'verbose' : 'normal',
  }
}

/** `value`, given as `given`, becomes the variable `name`, unless a key=value word gave it another value. */
function takeOnce(variables: Record<string, string>, name: string, value: string | undefined, given: string): void {
  if (value === undefined) return
  const word = variables[name]
  if (word !== undefined && word !== value) throw new UsageError(`${given} and ${name}=${word} disagree; give ${name} once.`)
  variables[name] = value
}

/** The option wins over the key=value word, which wins over the environment; given but empty is an error, not "every host". */
function readFilter(
  name: 'ROLES' | 'HOSTS',
  option: string | undefined,
  variables: Record<string, string>,
  env: Readonly<Record<string, string | undefined>>
): string[] {
  const flag = name === 'ROLES' ? '--roles' : '--hosts'
  const word = variables[name]
  if (option !== undefined && word !== undefined && option !== word) {
    throw new UsageError(`${flag} ${JSON.stringify(option)} and ${name}=${word} disagree; give the filter once.`)
  }
  const text = option ?? word ?? env[name]
  const list = parseFilterList(text)
  if (text === undefined || list.length > 0) return list
  const shown = text.trim() === '' ? '' : JSON.stringify(text)
  const [culprit, fix] =
    option !== undefined
      ? [`${flag} ${shown || '""'}`, `leave ${flag} out`]
      : variables[name] !== undefined
        ? [`${name}=${shown}`, `leave ${name} out`]
        : [`${name}=${shown} in the environment`, `unset ${name}`]
  throw new UsageError(`${culprit} is empty: name at least one ${name === 'ROLES' ? 'role' : 'host'}, or ${fix}.`)
}
