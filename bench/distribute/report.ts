// The benchmark's output: markdown tables (seconds, ratio to S/B, ratio to ours), a JSON record
// and an SVG chart of time against host count, drawn by vega-lite.
import { writeFileSync } from 'node:fs'
import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'

export interface Cell {
  method: string
  label: string
  hosts: number
  seconds: number
  /** False when predicted from a smaller N (centralized methods: N × the per-host time). */
  isMeasured: boolean
  medianHostSeconds?: number
  slowestHostSeconds?: number
  steps?: Record<string, number>
  controllerPeakMiB?: number
  /** This machine's CPU time during the run, every process and the kernel: busy (of it, in the kernel) and idle. */
  machineBusyCpuSeconds?: number
  machineKernelCpuSeconds?: number
  machineIdleCpuSeconds?: number
  /** Receivers × file size. */
  deliveredMiB?: number
}

export interface Setting {
  sizeMiB: number
  rate: string
  oneLinkSeconds: number
  runs: number
  hostCounts: number[]
}

/** The row every ratio is taken against. */
export const OURS = 'murder'

export function formatTables(setting: Setting, cells: Cell[]): string {
  const methods = [...new Map(cells.map((cell) => [cell.method, cell.label])).entries()]
  const find = (method: string, hosts: number) => cells.find((cell) => cell.method === method && cell.hosts === hosts)
  const header = (first: string) => `| ${first} | ${setting.hostCounts.map((hosts) => `${hosts} hosts`).join(' | ')} |\n|---|${setting.hostCounts.map(() => '---|').join('')}`
  const lines = [
    `${setting.sizeMiB} MiB random file, every link ${setting.rate}, S/B = ${setting.oneLinkSeconds.toFixed(2)} s; median of ${setting.runs} run(s); ≈ = predicted as N × the per-host time measured at the largest N run`,
    '',
    'Seconds until every host holds the verified file (× S/B, × ours):',
    '',
    header('method'),
  ]
  for (const [method, label] of methods) {
    const row = setting.hostCounts.map((hosts) => {
      const cell = find(method, hosts)
      const ours = find(OURS, hosts)
      if (!cell) return '—'
      const versus = ours && method !== OURS ? `, ${(cell.seconds / ours.seconds).toFixed(2)}× ours` : ''
      return `${cell.isMeasured ? '' : '≈'}${cell.seconds.toFixed(1)} s (${(cell.seconds / setting.oneLinkSeconds).toFixed(2)}× S/B${versus})`
    })
    lines.push(`| ${label} | ${row.join(' | ')} |`)
  }
  const peerStep = setting.hostCounts.map((hosts) => find(OURS, hosts)?.steps?.['murder:peer'])
  if (peerStep.some((seconds) => seconds !== undefined)) {
    lines.push(`| ours: the murder:peer step alone | ${peerStep.map((seconds) => (seconds === undefined ? '—' : `${seconds.toFixed(1)} s (${(seconds / setting.oneLinkSeconds).toFixed(2)}× S/B)`)).join(' | ')} |`)
  }
  lines.push(`| S/B | ${setting.hostCounts.map(() => `${setting.oneLinkSeconds.toFixed(1)} s`).join(' | ')} |`)
  lines.push('', 'Per host, seconds from the start until its copy was written: median / slowest:', '', header('method'))
  for (const [method, label] of methods) {
    const row = setting.hostCounts.map((hosts) => {
      const cell = find(method, hosts)
      if (!cell?.isMeasured || cell.medianHostSeconds === undefined || cell.slowestHostSeconds === undefined) return '—'
      return `${cell.medianHostSeconds.toFixed(1)} / ${cell.slowestHostSeconds.toFixed(1)}`
    })
    lines.push(`| ${label} | ${row.join(' | ')} |`)
  }
  const memory = cells.filter((cell) => cell.controllerPeakMiB !== undefined && Number.isFinite(cell.controllerPeakMiB))
  if (memory.length > 0) {
    lines.push('', "Our CLI's peak memory on the controller (MiB):", '', header('method'))
    for (const [method, label] of methods.filter(([method]) => memory.some((cell) => cell.method === method))) {
      lines.push(`| ${label} | ${setting.hostCounts.map((hosts) => find(method, hosts)?.controllerPeakMiB?.toFixed(0) ?? '—').join(' | ')} |`)
    }
  }
  const costed = cells.filter((cell) => cell.machineBusyCpuSeconds !== undefined && cell.deliveredMiB !== undefined)
  if (costed.length > 0) {
    lines.push('', "This machine's CPU during the run, every process and the kernel: busy CPU-seconds per 100 MiB delivered (of them in the kernel; share of the cores busy):", '', header('method'))
    for (const [method, label] of methods.filter(([method]) => costed.some((cell) => cell.method === method))) {
      const row = setting.hostCounts.map((hosts) => {
        const cell = find(method, hosts)
        const delivered = cell?.deliveredMiB
        if (!cell?.isMeasured || cell.machineBusyCpuSeconds === undefined || !delivered) return '—'
        const busyShare = cell.machineBusyCpuSeconds / (cell.machineBusyCpuSeconds + (cell.machineIdleCpuSeconds ?? 0))
        const perHundred = (seconds: number) => ((100 * seconds) / delivered).toFixed(1)
        const kernel = cell.machineKernelCpuSeconds === undefined ? '' : `kernel ${perHundred(cell.machineKernelCpuSeconds)}; `
        return `${perHundred(cell.machineBusyCpuSeconds)} (${kernel}${(100 * busyShare).toFixed(0)}%)`
      })
      lines.push(`| ${label} | ${row.join(' | ')} |`)
    }
  }
  return lines.join('\n')
}

export function writeJson(path: string, setting: Setting, cells: Cell[]): void {
  writeFileSync(path, `${JSON.stringify({ measuredAt: new Date().toISOString(), ...setting, cells }, null, 2)}\n`)
}

export async function writeChart(path: string, setting: Setting, cells: Cell[]): Promise<void> {
  const oneLink = setting.hostCounts.map((hosts) => ({ label: 'S/B (one link)', hosts, seconds: setting.oneLinkSeconds, kind: 'measured' }))
  const predicted = 'predicted (N × per host)'
  const point = (cell: Cell, kind: string) => ({ label: cell.label, hosts: cell.hosts, seconds: cell.seconds, kind })
  // The last measured point of a predicted line also starts its dashed part, so the two meet.
  const joins = cells.filter((cell) => cell.isMeasured && cells.some((other) => other.method === cell.method && !other.isMeasured && other.hosts > cell.hosts))
  const lastJoins = joins.filter((cell) => !joins.some((other) => other.method === cell.method && other.hosts > cell.hosts))
  const values = [...cells.map((cell) => point(cell, cell.isMeasured ? 'measured' : predicted)), ...lastJoins.map((cell) => point(cell, predicted)), ...oneLink]
  const spec: TopLevelSpec = {
    title: `${setting.sizeMiB} MiB to N hosts, every link ${setting.rate} (S/B = ${setting.oneLinkSeconds.toFixed(1)} s)`,
    width: 560,
    height: 340,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'hosts', type: 'quantitative', title: 'hosts (N)', scale: { domain: [0, Math.max(...setting.hostCounts)] } },
      y: { field: 'seconds', type: 'quantitative', title: 'seconds until every host has the file' },
      color: { field: 'label', type: 'nominal', title: 'method' },
      strokeDash: { field: 'kind', type: 'nominal', title: '' },
      detail: { field: 'label' },
    },
  }
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  writeFileSync(path, await view.toSVG())
}
