import { dirname, relative } from 'node:path'
import { DeployError, errorMessage, RunFailedError, UsageError } from '../errors.ts'
import { describeBudget, parseFailBudget, roundedAwayBudget } from '../runner/fail-budget.ts'
import { checkInterrupted, interruptedExitCode } from '../runner/interrupt.ts'
import { parseCommandLine, type RunRequest } from './args.ts'
import { helpText } from './help.ts'
import { listTasks, noTaskMatches } from './list-tasks.ts'
import { isMissingStageInListing, noStageError, unknownFirstWord } from './first-word.ts'
import { findDeployfile } from '../config/find-deployfile.ts'
import { readInteger } from '../config/read-integer.ts'
import { readSwitch } from '../config/read-switch.ts'
import { loadDeployfile } from '../config/load-deployfile.ts'
import { isStage, listStages, readStageFile, stageFilePath } from '../inventory/stage-file.ts'
import { SshConfigFile, defaultSshConfigPath } from '../inventory/ssh-config.ts'
import { applyFilter, validateFilter } from '../inventory/filter.ts'
import { currentSession, type Session } from '../runner/session.ts'
import { invokeTask, unknownTask } from '../runner/invoke.ts'
import { checkHookCycles, checkHookTargets } from '../runner/hook-check.ts'
import { DEFAULT_TRANSFER_CONCURRENCY, SshBackend } from '../ssh/ssh-backend.ts'
import { DryRunBackend } from '../ssh/dry-run-backend.ts'
import { fakeLocalCommands, reportLocalCommands } from '../runner/local-commands.ts'
import { install, installRoot } from './install.ts'
import { cd } from 'zx/core'
import { ConsoleReporter, type TerminalOutput } from '../report/console-reporter.ts'
import { createPaint, wantsColour } from '../report/format.ts'
import { renderSummary } from '../report/summary.ts'
import { hostOutcomes } from '../report/host-outcomes.ts'
import type { RunSummary } from '../report/events.ts'
import { isSecretName, redactingOutput, secretEnvironmentValues } from '../report/redact.ts'
import { packageVersion } from '../package-root.ts'
import { processTerminal } from './terminal-input.ts'
import { unusedCapistranoSettings } from '../config/capistrano-settings.ts'
// The built-in tasks register themselves when loaded, before the deployfile can hook or redefine them.
import '../../tasks/murder.ts'
import '../../tasks/deploy.ts'
import '../../tasks/doctor.ts'

export interface ProcessIo {
  argv: string[]
  env: Record<string, string | undefined>
  cwd: string
  stdout: TerminalOutput
  stderr: TerminalOutput
  /** stdin is a terminal: `ask` reads its answers there (else each takes its default). */
  isStdinTTY?: boolean
}

/** The only process boundary: parse → load → validate → run → summary; returns the exit code. */
export async function main(rawIo: ProcessIo): Promise<number> {
  const fromEnvironment = secretEnvironmentValues(rawIo.env)
  const secrets = () => [...fromEnvironment, ...currentSession().variables.valuesOf(isSecretName)]
  const io = { ...rawIo, stdout: redactingOutput(rawIo.stdout, secrets), stderr: redactingOutput(rawIo.stderr, secrets) }
  const paint = createPaint(wantsColour(io.stderr.isTTY, io.env))
  let request: RunRequest
  try {
    request = parseCommandLine(io.argv, io.env)
    if (request.kind === 'help') {
      io.stdout.write(`${helpText()}\n`)
      return 0
    }
    if (request.kind === 'version') {
      io.stdout.write(`murder ${packageVersion()} (node ${process.versions.node})\n`)
      return 0
    }
    // `deploy production deploy BRANCH=v2`: a deployfile written as a Capfile is (`ENV['BRANCH']`) reads it there.
    Object.assign(io.env, request.environment)
    if (request.kind === 'run' && request.words.length === 1 && request.words[0] === 'install') return installFiles(request, io)
    const session = currentSession()
    if (request.kind === 'run') for (const [name, value] of Object.entries(request.variables)) session.variables.override(name, value)
    const deployfile = findDeployfile(io.cwd, request.file)
    const projectRoot = dirname(deployfile)
    // As Rake and cap move to the Capfile's directory: a task's relative local paths and its `$`
    // commands mean the same wherever the user stands (a subdirectory, or elsewhere with -f).
    // zx's `cd`: `$` keeps the directory it was loaded in unless told (process.chdir is not enough).
    cd(projectRoot)
    const words = [...request.words]
    const stage = words[0] !== undefined && isStage(projectRoot, words[0]) ? words.shift() : undefined
    if (stage !== undefined) session.variables.set('stage', stage, 'command line')
    // Before the deployfile loads: what its top level says, or its `$` runs, is shown too.
    const verbosity = request.kind === 'run' ? request.verbosity : 'normal'
    const reporter = new ConsoleReporter(io.stderr, paint, verbosity, (request.kind === 'run' && request.dryRun) || verbosity === 'verbose')
    session.reporter = reporter
    session.stdout = io.stdout
    // The question goes where the user looks: stderr with the log, unless only stdout is the terminal.
    if (io.isStdinTTY === true) session.terminal = processTerminal(!io.stderr.isTTY && io.stdout.isTTY ? io.stdout : io.stderr)
    reportLocalCommands(reporter, { showsStdout: verbosity === 'verbose', showsQuiet: (request.kind === 'run' && request.dryRun) || verbosity === 'verbose' })
    await loadDeployfile(deployfile)
    const sshConfigPath = stage === undefined ? undefined : applyStage(session, stageFilePath(projectRoot, stage), projectRoot)
    session.sshConfigPath = sshConfigPath

    if (request.kind === 'list') {
      const pattern = request.pattern !== undefined && request.pattern === stage ? undefined : request.pattern
      if (stage === undefined && words.length > 1) throw noStageError(words[0] ?? '', listStages(projectRoot))
      // As `cap -T` fails on `after` naming no task: a typo is found before anyone deploys.
      checkHookTargets(session.registry)
      const listing = listTasks(session.registry.all(), pattern)
      if (listing === '' && pattern !== undefined) throw listingError(session, pattern, stage === undefined ? projectRoot : undefined)
      io.stdout.write(listing)
      return 0
    }
    session.filter = { roles: request.roles, hosts: request.hosts }
    validateRun(session, words, stage === undefined ? projectRoot : undefined)
    session.failBudget = parseFailBudget(session.variables.fetch('max_fail', ''))
    session.targetCount = session.hostsFor([]).length
    const fetch = session.variables.fetch.bind(session.variables)
    const connectTimeoutS = readInteger(fetch, 'ssh_connect_timeout', 10, { min: 1, max: 3600, unit: 'seconds' })
    const isShellPersistent = readSwitch(fetch, 'ssh_persistent_shell', true)
    const transferConcurrency = readInteger(fetch, 'transfer_concurrency', DEFAULT_TRANSFER_CONCURRENCY, { min: 1, max: 100_000, unit: 'SFTP transfers at once' })

    const roundedAway = roundedAwayBudget(session.failBudget, session.targetCount)
    if (roundedAway) reporter.emit({ type: 'message', level: 'warn', text: roundedAway })
    // Peeked, not fetched: a lazy value is not run for this.
    for (const text of unusedCapistranoSettings((name) => session.variables.peek(name)?.value)) reporter.emit({ type: 'message', level: 'warn', text })
    if (request.concurrency !== undefined) session.setConcurrency(request.concurrency)
    session.isDryRun = request.dryRun
    if (request.dryRun) fakeLocalCommands()
    session.backend = request.dryRun
      ? new DryRunBackend()
      : new SshBackend({
          sshConfig: new SshConfigFile(sshConfigPath ?? defaultSshConfigPath()),
          connectTimeoutMs: connectTimeoutS * 1000,
          reporter,
          isShellPersistent,
          transferConcurrency,
        })
    return await runTasks(session, words, io, paint)
  } catch (error) {
    return reportFatal(error, io, paint)
  }
}

/** `deploy install`: beside the deployfile found (adding stages), else at the Node project's root around the current directory. */
function installFiles(request: Extract<RunRequest, { kind: 'run' }>, io: ProcessIo): number {
  if (request.file !== undefined) throw new UsageError('install writes deployfile.ts and roles/ beside the deployfile found from here, or at the project root (package.json); run it without -f.')
  let root: string
  try {
    root = dirname(findDeployfile(io.cwd))
  } catch {
    root = installRoot(io.cwd)
  }
  let created = 0
  let isFirst = true
  install(
    root,
    // As cap reads ENV['STAGES']: `STAGES=qa npx deploy install` too.
    request.variables['STAGES'] ?? io.env['STAGES'],
    ({ action, path }) => {
      // Said with the first file, once the STAGES= given are known to be good.
      if (isFirst) io.stderr.write(`${request.dryRun ? 'would install' : 'installing'} into ${root}\n`)
      isFirst = false
      if (action === 'create') created++
      const shown = relative(root, path)
      io.stderr.write(action === 'create' ? `${request.dryRun ? 'would create' : 'create'} ${shown}\n` : `exists, left as is: ${shown}\n`)
    },
    { dryRun: request.dryRun }
  )
  if (created > 0 && !request.dryRun) {
    io.stderr.write(`Next: name your servers in roles/STAGE.yaml, then \`npx deploy STAGE deploy --dry-run\` to see what a deploy would run.\n`)
  }
  return 0
}

function applyStage(session: Session, path: string, projectRoot: string): string | undefined {
  const stage = readStageFile(path, projectRoot)
  for (const { host, options } of stage.servers) session.inventory.server(host, options)
  for (const { name, hosts } of stage.roles) session.inventory.role(name, hosts)
  for (const [name, value] of Object.entries(stage.variables)) session.variables.set(name, value, path)
  return stage.sshConfig
}

/** `deploy [WORD] -T PATTERN` matched nothing: say so, or that WORD named no stage. */
function listingError(session: Session, pattern: string, projectRootWithoutStage: string | undefined): DeployError {
  if (projectRootWithoutStage !== undefined) {
    const stages = listStages(projectRootWithoutStage)
    if (isMissingStageInListing(pattern, stages)) return noStageError(pattern, stages)
  }
  return noTaskMatches(session.registry.all(), pattern)
}

/**
 * Everything that can be checked is checked before the first connection opens.
 * @param projectRootWithoutStage - set when no stage was recognised, so the first word may name a missing one
 */
function validateRun(session: Session, words: string[], projectRootWithoutStage: string | undefined): void {
  if (words.length === 0) throw new DeployError('No task given. Run `deploy -T` to list tasks.', { exitCode: 2 })
  const [first = '', ...rest] = words
  if (projectRootWithoutStage !== undefined && !session.registry.has(first)) {
    throw unknownFirstWord(first, rest, session.registry.all().map((task) => task.name), listStages(projectRootWithoutStage))
  }
  for (const word of words) {
    if (session.registry.has(word)) continue
    // `deploy deploy staging`: the stage is known, only misplaced.
    if (projectRootWithoutStage !== undefined && isStage(projectRootWithoutStage, word)) {
      throw new UsageError(`"${word}" is a stage: name it before the tasks, \`deploy ${[word, ...words.filter((other) => other !== word)].join(' ')}\`.`)
    }
    throw unknownTask(session, word)
  }
  checkHookTargets(session.registry)
  // Every hooked task, not only the words: deploy reaches its steps through invoke(), and a cycle
  // found when deploy:published runs would come after `current` moved.
  checkHookCycles(session.registry, [...words, ...session.registry.hooks().map((hook) => hook.task)])
  validateFilter(session.filter, session.inventory.all(), session.inventory.roleNames())
}

async function runTasks(session: Session, words: string[], io: ProcessIo, paint: ReturnType<typeof createPaint>): Promise<number> {
  const started = Date.now()
  let failure: unknown
  const stopListening = session.interruption.listen(session, { isStartedByNpm: io.env['npm_command'] !== undefined, quit: (code) => process.exit(code) })
  try {
    for (const word of words) {
      checkInterrupted(session)
      await invokeTask(session, word)
    }
    warnUnusedWaves(session)
  } catch (error) {
    failure = error
  } finally {
    stopListening()
    await session.backend.close()
  }
  const isInterrupted = session.interruption.isInterrupted
  // A task may fail hosts itself (a deploy lock another deploy holds): they are listed like any failed host.
  const failed = new Map([...(failure instanceof RunFailedError ? failure.failures : []), ...session.failedHosts])
  const hosts = hostOutcomes(
    session.inventory.all().map((host) => host.name),
    new Set(applyFilter(session.inventory.all(), session.filter).map((host) => host.name)),
    session.touchedHosts,
    failed,
    session.unstartedHosts
  )
  // max_fail carries on past some failed hosts; a run where every host it worked on failed has failed.
  const hasAllFailed = failed.size > 0 && hosts.succeededHosts.length === 0
  const summary: RunSummary = {
    ok: failure === undefined && (failed.size === 0 || (session.isWithinFailBudget() && !hasAllFailed)),
    durationMs: Date.now() - started,
    tasks: session.taskTimings,
    ...hosts,
    ...(session.isDryRun ? { isDryRun: true } : {}),
  }
  if (isInterrupted) {
    summary.ok = false
    summary.error = `interrupted by ${session.interruption.cause}`
  } else if (failure === undefined && hasAllFailed && session.isWithinFailBudget()) {
    summary.error = `every target host has failed; max_fail=${describeBudget(session.failBudget)} carries on past some, not all`
  } else if (failure !== undefined && !(failure instanceof RunFailedError)) {
    summary.error = errorMessage(failure)
    if (!(failure instanceof DeployError)) io.stderr.write(`${(failure as Error).stack ?? String(failure)}\n`)
  }
  session.reporter.close?.()
  io.stderr.write(renderSummary(summary, paint).map((line) => `${line}\n`).join(''))
  if (isInterrupted) return interruptedExitCode(session.interruption.cause)
  if (failure instanceof DeployError) return failure.exitCode
  return summary.ok ? 0 : 1
}

/** `--waves` (or waves=) on a run that swapped no `current`: the user expected a staged rollout that did not happen. */
function warnUnusedWaves(session: Session): void {
  const waves = String(session.variables.fetch('waves', ''))
  if (waves === '' || session.variables.originOf('waves') !== 'command line' || session.ranTasks.has('deploy:symlink:release')) return
  session.reporter.emit({ type: 'message', level: 'warn', text: `waves ${waves} had no effect: only deploy and deploy:rollback swap current wave by wave, and neither did in this run` })
}

function reportFatal(error: unknown, io: ProcessIo, paint: ReturnType<typeof createPaint>): number {
  if (error instanceof DeployError) {
    io.stderr.write(`${paint.red('error:')} ${error.message}\n`)
    for (const line of error.details) io.stderr.write(`  ${line}\n`)
    return error.exitCode
  }
  io.stderr.write(`${paint.red('internal error:')} ${(error as Error).stack ?? String(error)}\n`)
  return 1
}
