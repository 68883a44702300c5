import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CommandShell, SHELL_COMMAND, ShellNotStartedError, ShellSilentError, frame, killTreeCommand, needsOwnShell, type ShellPipes } from '../../lib/ssh/command-shell.ts'

/** A real shell started as sshd starts it for an exec command: the login shell with `-c`. */
function spawnShell(loginShell: string, env: Record<string, string> = {}): ChildProcess {
  // Its own process group, so that a test can stop what its commands left running.
  return spawn(loginShell, ['-c', SHELL_COMMAND], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, detached: true })
}

function pipesOf(child: ChildProcess): ShellPipes {
  // Writing to a shell that has exited: its exit fails the command.
  child.stdin?.on('error', () => {})
  return {
    write: (text) => child.stdin?.write(text),
    end: () => child.stdin?.end(),
    destroy: () => child.kill(),
    onStdout: (listener) => child.stdout?.on('data', listener),
    onStderr: (listener) => child.stderr?.on('data', listener),
    // As on an exec channel, the close, or soon after the exit: a background process may keep the
    // pipes open long after, and output may still come after the exit.
    onClose: (listener) => {
      child.once('close', listener)
      child.once('exit', () => setTimeout(listener, 100).unref())
    },
  }
}

/** Pipes the test plays the shell's side of, to cut its output into chunks of any size. */
function scriptedPipes() {
  const written: string[] = []
  const listeners = { stdout: (_: Buffer) => {}, stderr: (_: Buffer) => {}, close: () => {} }
  const pipes: ShellPipes = {
    write: (text) => written.push(text),
    end: () => written.push('<end>'),
    destroy: () => written.push('<destroy>'),
    onStdout: (listener) => (listeners.stdout = listener),
    onStderr: (listener) => (listeners.stderr = listener),
    onClose: (listener) => (listeners.close = listener),
  }
  /** The label of the last frame written: the shell prints it back in that frame's markers. */
  const label = () => [...written].reverse().map((text) => /printf '\\036%s:s%s\\036' (\w+) "\$\$";/.exec(text)?.[1]).find(Boolean) ?? ''
  const marker = (status: string) => Buffer.from(`\x1e${label()}:${status}\x1e`)
  /** The shell's side of one command: its markers around this output. */
  const answer = (stdout: string, stderr: string, code: number) => {
    listeners.stdout(Buffer.concat([marker('s'), Buffer.from(stdout), marker(String(code))]))
    listeners.stderr(Buffer.concat([marker('s'), Buffer.from(stderr), marker('e')]))
  }
  const byteByByte = (stream: 'stdout' | 'stderr', bytes: Buffer) => {
    for (const byte of bytes) listeners[stream](Buffer.from([byte]))
  }
  const shell = (timeoutMs = 1000, onRetire?: (reason: string) => void) => new CommandShell(pipes, { timeoutMs, ...(onRetire ? { onRetire } : {}) })
  return { pipes, written, listeners, marker, answer, byteByByte, shell }
}

const shells = ['/bin/sh', '/bin/bash'].filter((path) => existsSync(path))
const LIMIT = { timeout: 20_000 }

for (const loginShell of shells) {
  test(`${loginShell}: output, exit status and stderr of each command, as an exec channel gives them`, LIMIT, async () => {
    const shell = new CommandShell(pipesOf(spawnShell(loginShell)), { timeoutMs: 5000 })
    assert.deepEqual(await shell.run("printf 'a\\nb'", {}), { code: 0, stdout: 'a\nb', stderr: '' })
    assert.deepEqual(await shell.run('echo oops >&2; exit 3', {}), { code: 3, stdout: '', stderr: 'oops' })
    // Killed by a signal: an exec channel reports no exit code.
    assert.equal((await shell.run("sh -c 'kill -9 $$'", {})).code, null)
    assert.equal((await shell.run('false', {})).code, 1)
    assert.equal(shell.isIdle, true)
    shell.close()
  })

  test(`${loginShell}: each command runs in a subshell: directory, variables, umask and exit stay with it`, LIMIT, async () => {
    const shell = new CommandShell(pipesOf(spawnShell(loginShell)), { timeoutMs: 5000 })
    const before = await shell.run('pwd; umask', {})
    assert.equal((await shell.run('cd / && X=1 && export Y=2 && umask 077 && exit 0', {})).code, 0)
    assert.equal((await shell.run('pwd; umask', {})).stdout, before.stdout)
    assert.equal((await shell.run('echo "${X-unset} ${Y-unset}"', {})).stdout, 'unset unset')
    // The loop's own variables are not the command's.
    assert.equal((await shell.run('echo "${__murder_frame-unset} ${__murder_nl-unset}"', {})).stdout, 'unset unset')
    shell.close()
  })

  test(`${loginShell}: quotes, newlines, a heredoc and a syntax error each reach the shell as written`, LIMIT, async () => {
    const shell = new CommandShell(pipesOf(spawnShell(loginShell)), { timeoutMs: 5000 })
    const odd = `it's "$HOME" \`x\` \\ $((1+1)) \r`
    assert.equal((await shell.run(`printf '%s' '${odd.replace(/'/g, `'\\''`)}'`, {})).stdout, odd.trim())
    assert.equal((await shell.run('cat <<EOF\nline one\n\n$((2+3))\nEOF', {})).stdout, 'line one\n\n5')
    const broken = await shell.run("echo 'unterminated", {})
    assert.notEqual(broken.code, 0)
    assert.equal((await shell.run('echo still here', {})).stdout, 'still here')
    shell.close()
  })

  test(`${loginShell}: stdin is empty, and the handlers see the output while the command runs`, LIMIT, async () => {
    const shell = new CommandShell(pipesOf(spawnShell(loginShell)), { timeoutMs: 5000 })
    assert.deepEqual(await shell.run('cat; echo read-done', {}), { code: 0, stdout: 'read-done', stderr: '' })
    const firstSeenAt: Record<string, number> = {}
    const started = Date.now()
    const result = await shell.run("printf 'one\\n'; printf 'two\\n' >&2; sleep 0.5", {
      onStdout: () => (firstSeenAt['stdout'] ??= Date.now() - started),
      onStderr: () => (firstSeenAt['stderr'] ??= Date.now() - started),
    })
    const doneAt = Date.now() - started
    assert.deepEqual(result, { code: 0, stdout: 'one', stderr: 'two' })
    for (const stream of ['stdout', 'stderr']) assert.ok((firstSeenAt[stream] ?? doneAt) < doneAt - 300, `${stream} seen at ${firstSeenAt[stream]} ms, done at ${doneAt} ms`)
    shell.close()
  })
}

for (const loginShell of shells) {
  test(`${loginShell}: killTreeCommand (Ctrl-C) ends the running command and all it started, not the shell, nor what an earlier command left running`, LIMIT, async () => {
    const child = spawnShell(loginShell)
    const shell = new CommandShell(pipesOf(child), { timeoutMs: 5000 })
    const marker = `murder-kill-test-${process.pid}-${loginShell.replace(/\W/g, '')}`
    try {
      // An app an earlier command started in the background (it is init's child once its subshell ends).
      await shell.run(`sh -c 'sleep 61; echo ${marker}-app' >/dev/null 2>&1 &`, {})
      let onStarted = () => {}
      const hasStarted = new Promise<void>((resolve) => (onStarted = resolve))
      const running = shell.run(`sh -c 'sleep 60; echo ${marker}' & echo started; sleep 60; echo after`, { onStdout: () => onStarted() })
      await hasStarted
      assert.equal(shell.isRunningCommand, true)
      assert.equal(shell.pid, child.pid, 'the start marker names the shell')
      const started = Date.now()
      execFileSync('/bin/sh', ['-c', killTreeCommand(shell.pid ?? 0)])
      const result = await running
      assert.ok(Date.now() - started < 3000, 'the command ends at once')
      assert.deepEqual({ code: result.code, stdout: result.stdout }, { code: null, stdout: 'started' })
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.equal(spawnSync('pgrep', ['-f', `sleep 60; echo ${marker}`]).status, 1, 'nothing the command started runs on')
      assert.equal(spawnSync('pgrep', ['-f', `${marker}-app`]).status, 0, 'what an earlier command left running is untouched')
      assert.equal((await shell.run('echo still here', {})).stdout, 'still here', 'the shell takes the next command')
    } finally {
      shell.close()
      spawnSync('pkill', ['-f', marker])
    }
  })
}

test('killTreeCommand takes only a process id', () => {
  assert.throws(() => killTreeCommand(1), /not a process id/)
  assert.throws(() => killTreeCommand(Number.NaN), /not a process id/)
})

test('functions and unexported variables from the login shell\'s start-up file reach every command', LIMIT, async () => {
  // bash reads ~/.bashrc for `-c` when its stdin is a socket, as from sshd (and from Node's spawn).
  const home = mkdtempSync(join(tmpdir(), 'shell-'))
  writeFileSync(join(home, '.bashrc'), 'greet() { echo "hello $1"; }\nSECRET_PLACE=/opt/app\n')
  const shell = new CommandShell(pipesOf(spawnShell('/bin/bash', { HOME: home })), { timeoutMs: 5000 })
  assert.equal((await shell.run('greet world', {})).stdout, 'hello world')
  assert.equal((await shell.run('echo "$SECRET_PLACE"', {})).stdout, '/opt/app')
  shell.close()
})

test('a shell killed while its command runs ends that command without an exit code, and takes no more', LIMIT, async () => {
  const child = spawnShell('/bin/sh')
  const shell = new CommandShell(pipesOf(child), { timeoutMs: 5000 })
  assert.equal((await shell.run('true', {})).code, 0)
  // The background sleep keeps the pipes open: only the shell's exit can end the command.
  const running = shell.run('sleep 60 & sleep 60', {})
  assert.equal(shell.isIdle, false)
  assert.throws(() => shell.run('true', {}), /running another command/)
  await new Promise((resolve) => setTimeout(resolve, 200))
  child.kill('SIGKILL')
  const result = await running
  assert.equal(result.code, null)
  assert.match(result.stderr, /command shell on the host ended while this command ran/)
  assert.equal(shell.hasClosed, true)
  assert.throws(() => shell.run('true', {}), /has closed/)
  process.kill(-(child.pid ?? 0), 'SIGKILL')
})

test('markers cut into single bytes, RS bytes and split UTF-8 in the output: every byte goes to its command once', LIMIT, async () => {
  const { shell, marker, byteByByte } = scriptedPipes()
  const seen = { stdout: [] as Buffer[], stderr: [] as Buffer[] }
  const commandShell = shell()
  const running = commandShell.run('anything', {
    onStdout: (chunk) => seen.stdout.push(chunk),
    onStderr: (chunk) => seen.stderr.push(chunk),
  })
  const stdout = Buffer.from('a\x1eb é \x1e')
  byteByByte('stderr', Buffer.concat([marker('s'), Buffer.from('warn \x1e ü'), marker('e')]))
  byteByByte('stdout', Buffer.concat([marker('s'), stdout, marker('42')]))
  assert.deepEqual(await running, { code: 42, stdout: 'a\x1eb é \x1e', stderr: 'warn \x1e ü' })
  assert.deepEqual(Buffer.concat(seen.stdout), stdout)
  assert.equal(Buffer.concat(seen.stderr).toString(), 'warn \x1e ü')
  assert.equal(commandShell.isIdle, true)
})

test('what the start-up files print before the first command is no command\'s', LIMIT, async () => {
  const { shell, listeners, answer } = scriptedPipes()
  const commandShell = shell()
  const running = commandShell.run('echo hi', {})
  listeners.stdout(Buffer.from('a line from .bashrc\n'))
  listeners.stderr(Buffer.from('a warning from .bashrc\n'))
  answer('hi\n', '', 0)
  assert.deepEqual(await running, { code: 0, stdout: 'hi', stderr: '' })
  assert.equal(commandShell.isIdle, true)
})

test('output between commands (a background process) gives the shell up, with a warning, instead of landing in the next command', LIMIT, async () => {
  const { shell, listeners, answer, written } = scriptedPipes()
  const reasons: string[] = []
  const commandShell = shell(1000, (reason) => reasons.push(reason))
  const running = commandShell.run('start-something &', {})
  answer('', '', 0)
  assert.equal((await running).code, 0)
  assert.equal(commandShell.isIdle, true)
  listeners.stdout(Buffer.from('late line\n'))
  assert.equal(commandShell.hasClosed, true)
  assert.equal(written.at(-1), '<end>')
  assert.match(reasons.join(''), /background process .* redirect it/)
})

test('a shell that closes before a command starts did not run it: it says so, for an exec channel to take it', LIMIT, async () => {
  // A login shell that is not a POSIX shell, or refuses commands.
  const refused = new CommandShell(pipesOf(spawn('sh', ['-c', 'echo "fish: unknown command" >&2; exit 127'])), { timeoutMs: 5000 })
  await assert.rejects(refused.run('touch /tmp/never', {}), ShellNotStartedError)
  assert.equal(refused.hasClosed, true)
  // A working shell that dies while idle.
  const { shell, listeners, answer } = scriptedPipes()
  const commandShell = shell()
  const first = commandShell.run('true', {})
  answer('', '', 0)
  await first
  const second = commandShell.run('touch /tmp/never', {})
  listeners.close()
  await assert.rejects(second, ShellNotStartedError)
})

test('a shell that never starts a command fails it as silent, and its channel is closed', LIMIT, async () => {
  const { shell, written } = scriptedPipes()
  const commandShell = shell(200)
  await assert.rejects(commandShell.run('true', {}), ShellSilentError)
  assert.equal(written.at(-1), '<destroy>')
  assert.equal(commandShell.hasClosed, true)
})

test('a frame is one line: start markers, the command quoted in a subshell with an empty stdin, end markers', () => {
  assert.equal(
    frame("echo 'hi'\necho there", 'abc7'),
    "printf '\\036%s:s%s\\036' abc7 \"$$\"; printf '\\036%s:s\\036' abc7 >&2; " +
      `( eval 'unset __murder_frame __murder_nl; echo '\\''hi'\\'''"$__murder_nl"'echo there' ) </dev/null; ` +
      `printf '\\036%s:%s\\036' abc7 "$?"; printf '\\036%s:e\\036' abc7 >&2\n`
  )
})

test("a framed command's errors name the lines an exec channel would", () => {
  for (const shell of ['sh', 'bash']) {
    const errorsOf = (script: string) => spawnSync(shell, ['-c', script], { encoding: 'utf8', env: { ...process.env, __murder_nl: '\n' } }).stderr
    const framed = errorsOf(frame('true\nno_such_command_xyz', 'abc7')).replace(/\x1e[^\x1e]*\x1e/g, '').replace(' eval:', '')
    assert.equal(framed, errorsOf('true\nno_such_command_xyz'), shell)
  }
})

test('commands that name $$, or hold a NUL byte, are the ones that need a shell of their own', () => {
  for (const command of ['echo $$ > app.pid && exec ./server', 'kill -TERM ${$}', 'mktemp /tmp/x.$$', 'echo a\0b']) assert.equal(needsOwnShell(command), true, command)
  for (const command of ['echo $HOME', "printf '%s' $1", 'echo $? $!', 'ls -d /proc/self']) assert.equal(needsOwnShell(command), false, command)
})
