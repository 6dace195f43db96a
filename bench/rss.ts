// Peak resident memory of a process, read from /proc/<pid>/status (Linux): VmHWM is the kernel's own
// high-water mark, so sampling it only has to happen before the process exits.
import { readFileSync } from 'node:fs';

export function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // exited, or not Linux
  }
}

/** Samples a process's VmHWM every `intervalMs` until stop(), which returns the highest value seen (KiB). */
export function peakRssSampler(pid: number, intervalMs = 200): { stop(): number } {
  let peak = procStatusKb(pid, 'VmHWM');
  const timer = setInterval(() => (peak = Math.max(peak, procStatusKb(pid, 'VmHWM'))), intervalMs);
  return {
    stop() {
      peak = Math.max(peak, procStatusKb(pid, 'VmHWM'));
      clearInterval(timer);
      return peak;
    },
  };
}
