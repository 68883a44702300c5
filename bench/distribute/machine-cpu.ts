// The whole machine's CPU time, from /proc/stat: every farm host, the controller and the kernel
// share these cores, so the busy time of a run is the price of that method's bytes here. And one
// process's, from /proc/PID/stat, for the benchmarks that time their daemons.
import { readFileSync } from 'node:fs'

/** Linux reports /proc/stat in USER_HZ ticks, 100 per second on every architecture Node runs on. */
const TICKS_PER_SECOND = 100

export interface CpuTimes {
  busySeconds: number
  /** The part of busySeconds spent in the kernel (system, irq, softirq): sockets, the farm's veths and tc, page faults. */
  kernelSeconds: number
  idleSeconds: number
}

export function machineCpuTimes(): CpuTimes {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  // cpu user nice system idle iowait irq softirq steal …
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number)
  return {
    busySeconds: (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND,
    kernelSeconds: (system + irq + softirq) / TICKS_PER_SECOND,
    idleSeconds: (idle + iowait) / TICKS_PER_SECOND,
  }
}

/** User + system CPU-seconds a live process has used; throws once it is gone. */
export function processCpuSeconds(pid: number): number {
  // utime and stime are fields 14 and 15; the command name before them may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
}

export function cpuTimesSince(start: CpuTimes): CpuTimes {
  const now = machineCpuTimes()
  return { busySeconds: now.busySeconds - start.busySeconds, kernelSeconds: now.kernelSeconds - start.kernelSeconds, idleSeconds: now.idleSeconds - start.idleSeconds }
}
