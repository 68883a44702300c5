import { formatDuration, withoutHostName, type Paint } from './format.ts'
import type { RunSummary } from './events.ts'

/** The lines closing a run: hosts that succeeded and failed (with the failing command), and the time. */
export function renderSummary(summary: RunSummary, paint: Paint): string[] {
  const lines: string[] = []
  const failed = summary.failedHosts
  if (summary.succeededHosts.length > 0) {
    // In a run that failed (a rolled-back deploy, a lock held elsewhere) no host "succeeded".
    const what = summary.isDryRun ? 'would run the commands above (dry run: nothing ran)' : summary.ok ? 'succeeded' : 'had no failure of their own'
    lines.push(`${summary.ok ? paint.green('✔') : '·'} ${summary.succeededHosts.length} host(s) ${what}: ${summary.succeededHosts.join(', ')}`)
  }
  const helpers = summary.helperHosts ?? []
  if (helpers.length > 0) lines.push(`· ${helpers.length} host(s) outside ROLES=/HOSTS= took part: ${helpers.join(', ')}`)
  const unstarted = summary.unstartedHosts ?? []
  if (unstarted.length > 0) lines.push(`· ${unstarted.length} host(s) never started (the run stopped before them): ${unstarted.join(', ')}`)
  if (failed.length > 0) {
    lines.push(`${paint.red('✖')} ${failed.length} host(s) failed:`)
    for (const [text, hosts] of groupByMessage(failed)) {
      const names = hosts.map((host) => paint.host(host)).join(', ')
      lines.push(`    ${names}${hosts.length > 1 ? ` (${hosts.length} hosts)` : ''}: ${text}`)
    }
  }
  if (summary.error !== undefined) lines.push(`${paint.red('error:')} ${summary.error}`)
  const verdict = summary.ok ? paint.green(summary.isDryRun ? 'Dry run finished' : 'Finished') : paint.red('Failed')
  lines.push(`${verdict} in ${formatDuration(summary.durationMs)}`)
  return lines
}

/**
 * Failures that read the same once their host's name is taken off share one line (a lock another
 * deploy holds on 500 hosts is one line, not 500), in the order of each text's first host.
 */
function groupByMessage(failed: RunSummary['failedHosts']): Map<string, string[]> {
  const groups = new Map<string, string[]>()
  for (const { host, message } of failed) {
    const text = withoutHostName(host, message)
    const hosts = groups.get(text)
    if (hosts) hosts.push(host)
    else groups.set(text, [host])
  }
  return groups
}
