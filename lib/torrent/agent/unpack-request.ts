// A held transfer command's answer to the controller's `unpack` request (protocol.ts): the process
// that downloaded the payload (or seeds it) puts it into the target directory itself, so that a host
// needs no command, SSH session or Node start of its own to extract a release (each about 0.07
// CPU-seconds, serialised on a farm's two cores). The command stays held afterwards, for its `stop`.
import { mkdir, readdir, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseUnpackRequest, type AgentEvent, type UnpackRequest } from '../protocol.ts'
import { AgentError } from './errors.ts'
import type { RequestLines } from './request-lines.ts'
import { parseKeyLine } from './payload-cipher.ts'
import { unpackPayload, unpackStopped } from './unpack.ts'

/** tar's warnings passed back in the answer, at most this much of them. */
const MAX_WARNING_CHARS = 4000

/** A held command's answer to a line on its stdin that is neither `stop` nor an unpack request. */
export function unknownRequest(command: string, line: string): AgentError {
  return new AgentError(`${command} --hold: unknown request ${JSON.stringify(line)} on stdin; the only ones are "stop" and "unpack"`)
}

/**
 * Answers one request line: `unpacked`, or `unpackFailed` with a line saying why (the target then
 * holds nothing, as after `tar -xzf` failed in the command it replaces). Never throws: the command
 * goes on holding its daemon either way. `payload`: the file this command holds, if any.
 */
export async function answerUnpackRequest(payload: string | undefined, line: string, signal?: AbortSignal): Promise<AgentEvent> {
  try {
    const request = parseUnpackRequest(line)
    if (!request) throw new Error('not an unpack request')
    if (payload === undefined) throw new Error('this command holds no payload to unpack')
    return await unpackInto(payload, request, signal)
  } catch (error) {
    return { type: 'unpackFailed', message: error instanceof Error ? error.message : String(error) }
  }
}

/**
 * Answers an unpack request while still reading the controller's lines: a `stop`, or the end of
 * stdin, that comes meanwhile (the run was interrupted and no longer waits for the answer) ends the
 * unpacking half-way, as `signal` does, so that nothing is renamed into place after the controller
 * went on to remove the release. Any other line waits for the answer (one request at a time).
 * Returns the answer and the next line, already asked for: the caller reads it next.
 */
export async function answerUnlessStopped(
  payload: string | undefined,
  line: string,
  requests: RequestLines,
  signal?: AbortSignal
): Promise<{ answer: AgentEvent; next: Promise<string | undefined> }> {
  const stopping = new AbortController()
  const stop = () => stopping.abort()
  if (signal?.aborted) stop()
  signal?.addEventListener('abort', stop, { once: true })
  const next = requests.next()
  void next.then((text) => {
    if (text === 'stop' || text === undefined) stop()
  })
  try {
    return { answer: await answerUnpackRequest(payload, line, stopping.signal), next }
  } finally {
    signal?.removeEventListener('abort', stop)
  }
}

async function unpackInto(payload: string, request: UnpackRequest, signal: AbortSignal | undefined): Promise<AgentEvent> {
  const { into, renameTo } = request
  // The key line is parsed before anything on the host changes: a bad one touches nothing.
  const key = request.keyLine === undefined ? undefined : parseKeyLine(request.keyLine)
  if (request.emptyFirst) {
    await rm(into, { recursive: true, force: true }).catch((error: Error) => {
      throw new Error(`cannot empty ${into}: ${error.message}`)
    })
  }
  await mkdir(into, { recursive: true }).catch((error: Error) => {
    throw new Error(`cannot create ${into}: ${error.message}`)
  })
  let said = ''
  try {
    await unpackPayload(payload, into, {
      ...(key ? { key } : {}),
      ...(signal ? { signal } : {}),
      onTarOutput: (chunk) => {
        if (said.length < MAX_WARNING_CHARS) said += chunk.toString('utf8')
      },
    })
    // The last moment a stop can still keep the release out of place.
    if (renameTo !== undefined && signal?.aborted) throw unpackStopped(payload, into)
  } catch (error) {
    // A tar that failed half-way (a corrupt payload, a full disk) leaves the target empty, so that
    // a run again is not refused for a target that is "not empty".
    await emptyDirectory(into)
    throw error
  }
  if (renameTo !== undefined) {
    // rename(2), not mv: onto an existing non-empty directory it fails instead of moving `into` inside.
    await rename(into, renameTo).catch((error: Error) => {
      throw new Error(`cannot rename ${into} to ${renameTo}: ${error.message}`)
    })
  }
  const warnings = said.slice(0, MAX_WARNING_CHARS).split('\n').map((text) => text.trim()).filter((text) => text !== '')
  if (said.length >= MAX_WARNING_CHARS) warnings.push(`… (tar said more; only its first ${MAX_WARNING_CHARS} characters are shown)`)
  return { type: 'unpacked', into, ...(renameTo === undefined ? {} : { renamedTo: renameTo }), ...(warnings.length > 0 ? { warnings } : {}) }
}

async function emptyDirectory(path: string): Promise<void> {
  const names = await readdir(path).catch(() => [])
  await Promise.all(names.map((name) => rm(join(path, name), { recursive: true, force: true }).catch(() => {})))
}
