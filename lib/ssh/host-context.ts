import { AsyncLocalStorage } from 'node:async_hooks'
import type { Readable } from 'node:stream'
import { statSync } from 'node:fs'
import { basename, join, posix, resolve } from 'node:path'
import { callerLocation } from '../config/caller-location.ts'
import { UnawaitedWork, shownCall } from '../runner/unawaited-work.ts'
import { buildCommand, wordOf, type CommandInput, type CommandScope } from './command.ts'
import { inDirectory, quotePath } from './remote-path.ts'
import { DeployError, RemoteCommandError, UsageError, describeValue } from '../errors.ts'
import type { Backend } from './backend.ts'
import type { Host } from '../inventory/host.ts'
import type { Reporter } from '../report/events.ts'
import { LineSplitter } from '../report/line-splitter.ts'

export interface UploadOptions {
  /**
   * The remote file's permission bits (Fabric's `put(mode=)`), set as it is opened, before any byte
   * is written, whether it is new or replaced (`0o600` for a secret).
   */
  mode?: number
}

export interface RunOptions {
  /** Do not stream output lines (they are still returned). */
  quiet?: boolean
  /** Return the result instead of throwing when the command exits non-zero. */
  allowFailure?: boolean
  /** Receive each whole output line here instead of streaming it to the terminal. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  /** Feed the command's stdin from this stream (it stays open until the stream ends). */
  stdin?: Readable
  /** Not stopped by the first Ctrl-C (by default every running command is): it has its own way to stop. */
  survivesInterrupt?: boolean
  /** Stays running after its on() block returns (a held agent command): the block's end does not wait for it. */
  outlivesBlock?: boolean
}

export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
}

const STDERR_TAIL_LINES = 10

/**
 * One host inside an `on` block: Fabric's feel over SSHKit's command model.
 * `within`, `withEnv`, `as` scope every command started inside their callback, through
 * AsyncLocalStorage, so parallel callbacks on the same host never see each other's scope.
 */
export class HostContext {
  private readonly scope = new AsyncLocalStorage<CommandScope>()
  /** Commands and transfers under way, for the check when the block returns. */
  private readonly started = new UnawaitedWork()

  constructor(
    readonly host: Host,
    private readonly backend: Backend,
    private readonly reporter: Reporter,
    /** This run's downloads: local path → the host that last wrote it. */
    private readonly downloadedTo: Map<string, string> = new Map(),
    /** The scope outside any within/withEnv/as: default_env's variables. */
    private readonly baseScope: CommandScope = {}
  ) {}

  /** Runs a command, streaming its output; throws a RemoteCommandError when it exits non-zero. */
  run(command: CommandInput, options: RunOptions = {}): Promise<CommandResult> {
    if (options.outlivesBlock) return this.commandOf(command, this.currentScope()).then((text) => this.runText(text, options))
    return this.tracked('run', command, this.currentScope(), (text) => this.runText(text, options))
  }

  /** Alias of `run`, as in SSHKit. */
  execute(command: CommandInput, options: RunOptions = {}): Promise<CommandResult> {
    return this.run(command, options)
  }

  /** Runs a command without streaming it and returns its stdout, trimmed. */
  capture(command: CommandInput): Promise<string> {
    return this.tracked('capture', command, this.currentScope(), async (text) => (await this.runText(text, { quiet: true })).stdout.trim())
  }

  /** True when the command exits 0; never throws for a non-zero exit. */
  test(command: CommandInput): Promise<boolean> {
    return this.tracked('test', command, this.currentScope(), async (text) => (await this.runText(text, { quiet: true, allowFailure: true })).code === 0)
  }

  /** Runs a command as root through `sudo -n`. */
  sudo(command: CommandInput, options: RunOptions = {}): Promise<CommandResult> {
    return this.tracked('sudo', command, { ...this.currentScope(), sudo: true, user: undefined }, (text) => this.runText(text, options))
  }

  /**
   * Starts a command, tracked until it settles (a block that returns before then fails, naming
   * this call's line). A bad command is a rejection, as from any async call, not a throw.
   */
  private tracked<T>(method: string, command: CommandInput, scope: CommandScope, start: (text: string) => Promise<T>): Promise<T> {
    const site = callerLocation()
    let text: string
    try {
      text = buildCommand(command, scope)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.started.track(start(text), shownCall(method, text), site)
  }

  private async commandOf(command: CommandInput, scope: CommandScope): Promise<string> {
    return buildCommand(command, scope)
  }

  /** Once the block has returned: fails if it left a command or transfer running (a missing await), once that has settled. */
  checkNothingLeftRunning(): Promise<void> {
    return this.started.check('its on() block')
  }

  /** Runs `fn` with every command inside it started in `dir` (which must exist; `~/` is the login directory). */
  async within<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    const current = this.currentScope()
    const cwd = inDirectory(current.cwd, wordOf(dir, 'within: the directory'))
    // SSHKit's check and words, without the check's shell text in the error.
    if ((await this.runText(`test -d ${quotePath(cwd)}`, { quiet: true, allowFailure: true })).code !== 0) {
      throw new DeployError(`${this.host.name}: within: Directory does not exist '${cwd}'`, { exitCode: 1 })
    }
    return this.scope.run({ ...current, cwd }, fn)
  }

  /** Runs `fn` with these environment variables exported to every command inside it (numbers as written). */
  withEnv<T>(env: Readonly<Record<string, string | number | boolean>>, fn: () => Promise<T>): Promise<T> {
    const current = this.currentScope()
    if (typeof env !== 'object' || env === null) throw new UsageError('withEnv takes an object of variables: withEnv({ RAILS_ENV: "production" }, fn)')
    const added = Object.fromEntries(Object.entries(env).map(([name, value]) => [name, wordOf(value, `withEnv: ${name}`)]))
    return this.scope.run({ ...current, env: { ...current.env, ...added } }, fn)
  }

  /**
   * Runs `fn` with every command inside it run as `user` through `sudo -u` (`as('deploy', fn)`,
   * or SSHKit's `as({ user: 'deploy' }, fn)`).
   */
  as<T>(user: string | { user: string }, fn: () => Promise<T>): Promise<T> {
    const name = typeof user === 'object' && user !== null ? (user as { user?: unknown }).user : user
    if (typeof name !== 'string' || name === '') throw new UsageError('as takes a user name: as(\'deploy\', fn) or as({ user: \'deploy\' }, fn)')
    return this.scope.run({ ...this.currentScope(), user: name }, fn)
  }

  /**
   * Uploads a local file or a buffer; missing remote directories are made. A remote path ending
   * in `/` is a directory the file goes into, under its own name (scp's way).
   */
  upload(source: string | Buffer, remotePath: string, options: UploadOptions = {}): Promise<void> {
    const site = callerLocation()
    return this.started.track(this.uploadNow(source, remotePath, options), `remote.upload(${typeof source === 'string' ? source : 'a buffer'}, ${remotePath})`, site)
  }

  private async uploadNow(source: string | Buffer, remotePath: string, options: UploadOptions): Promise<void> {
    const started = Date.now()
    const mode = options.mode
    if (mode !== undefined && !(Number.isInteger(mode) && mode >= 0 && mode <= 0o7777)) {
      throw new UsageError(`upload: mode must be a permission number such as 0o600, got ${describeValue(mode)}`)
    }
    const what = typeof source === 'string' ? source : `(${source.length} bytes)`
    let target = this.resolvePath(wordOf(remotePath, 'upload: the remote path'))
    if (target.endsWith('/')) {
      if (typeof source !== 'string') throw new UsageError(`upload of a buffer to ${target}: name the remote file, not only its directory`)
      target += basename(source)
    }
    this.reporter.emit({ type: 'command', host: this.host.name, command: `upload ${what} → ${target}` })
    await this.backend.upload(this.host, source, target, mode)
    this.reporter.emit({
      type: 'command-end',
      host: this.host.name,
      command: `upload ${what}`,
      code: 0,
      durationMs: Date.now() - started,
    })
  }

  /**
   * Downloads a remote file to a local path; into an existing local directory (or a path ending
   * in `/`) under its own name. The local file changes only once the whole file has arrived.
   */
  download(remotePath: string, localPath: string): Promise<void> {
    const site = callerLocation()
    return this.started.track(this.downloadNow(remotePath, localPath), `remote.download(${remotePath}, ${localPath})`, site)
  }

  private async downloadNow(remotePath: string, localPath: string): Promise<void> {
    const source = this.resolvePath(wordOf(remotePath, 'download: the remote path'))
    // `{host}` is the host's name, as in Fabric's get(): `logs/{host}/` keeps each host's copy apart.
    const perHost = localPath.replaceAll('{host}', this.host.name)
    const local = isLocalDirectory(perHost) ? join(perHost, posix.basename(source)) : perHost
    this.reporter.emit({ type: 'command', host: this.host.name, command: `download ${source} → ${local}` })
    this.sayIfDownloadedBefore(resolve(local))
    await this.backend.download(this.host, source, local)
  }

  /** A second host writing the same local file overwrites the first's copy: said once per file. */
  private sayIfDownloadedBefore(localPath: string): void {
    const other = this.downloadedTo.get(localPath)
    if (other === undefined) this.downloadedTo.set(localPath, this.host.name)
    if (other === undefined || other === this.host.name || other === '') return
    this.downloadedTo.set(localPath, '')
    const text = `download to ${localPath}: ${other} wrote it too in this run, so one host's copy replaces the other's; put {host} in the path to keep each (logs/{host}/)`
    this.reporter.emit({ type: 'message', level: 'warn', host: this.host.name, text })
  }

  private resolvePath(path: string): string {
    return inDirectory(this.currentScope().cwd, path)
  }

  private currentScope(): CommandScope {
    return this.scope.getStore() ?? this.baseScope
  }

  private async runText(text: string, options: RunOptions): Promise<CommandResult> {
    const hostName = this.host.name
    const started = Date.now()
    const showCommand = () => this.reporter.emit({ type: 'command', host: hostName, command: text, ...(options.quiet ? { quiet: true as const } : {}) })
    const stderrLines: string[] = []
    const toLine = (stream: 'stdout' | 'stderr') => (line: string) => {
      if (stream === 'stderr') {
        stderrLines.push(line)
        if (stderrLines.length > STDERR_TAIL_LINES) stderrLines.shift()
      }
      if (options.onLine) options.onLine(line, stream)
      else if (!options.quiet) this.reporter.emit({ type: 'output', host: hostName, stream, line })
      else if (stream === 'stderr') this.reporter.emit({ type: 'output', host: hostName, stream, line, quiet: true })
    }
    const stdout = new LineSplitter(toLine('stdout'))
    const stderr = new LineSplitter(toLine('stderr'))
    const result = await this.backend.exec(this.host, text, {
      onStdout: (chunk) => stdout.push(chunk),
      onStderr: (chunk) => stderr.push(chunk),
      ...(options.stdin ? { stdin: options.stdin } : {}),
      ...(options.survivesInterrupt ? { survivesInterrupt: true } : {}),
      onReached: showCommand,
    })
    stdout.end()
    stderr.end()
    if (!options.quiet) {
      this.reporter.emit({ type: 'command-end', host: hostName, command: text, code: result.code, durationMs: Date.now() - started })
    }
    // A command the interruption stopped fails even under allowFailure: its status says nothing of what it tested.
    if (result.code !== 0 && (!options.allowFailure || result.interruptedBy !== undefined)) {
      // A streamed stderr was already shown; the error keeps only its last lines then.
      const tail = options.quiet ? stderrLines : stderrLines.slice(-2)
      throw new RemoteCommandError(hostName, text, result.code, tail, result.interruptedBy)
    }
    return result
  }
}

function isLocalDirectory(path: string): boolean {
  return path.endsWith('/') || statSync(path, { throwIfNoEntry: false })?.isDirectory() === true
}
