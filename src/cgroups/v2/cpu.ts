/** cpu (v2): cpu.weight (from shares), cpu.max "quota period", cpu.max.burst, cpu.idle. */
import { intStr, parseKeyValues, readOptional, writeFile } from '../fsutil.js';
import type { Resources, Stats } from '../types.js';

export function isCpuSet(r: Resources): boolean {
  return (
    r.cpuWeight !== 0 ||
    r.cpuQuota !== 0 ||
    r.cpuPeriod !== 0 ||
    r.cpuBurst !== undefined ||
    r.cpuIdle !== undefined
  );
}

export function setCpu(dir: string, r: Resources): void {
  if (!isCpuSet(r)) return;
  if (r.cpuIdle !== undefined) writeFile(dir, 'cpu.idle', intStr(r.cpuIdle));
  if (r.cpuWeight !== 0) writeFile(dir, 'cpu.weight', intStr(r.cpuWeight));
  if (r.cpuQuota !== 0 || r.cpuPeriod !== 0) {
    let v = r.cpuQuota > 0 ? intStr(r.cpuQuota) : 'max';
    v += ` ${intStr(r.cpuPeriod || 100000)}`;
    writeFile(dir, 'cpu.max', v);
  }
  if (r.cpuBurst !== undefined) writeFile(dir, 'cpu.max.burst', intStr(r.cpuBurst));
}

export function statCpu(dir: string, s: Stats): void {
  const text = readOptional(dir, 'cpu.stat');
  if (text === undefined) return;
  for (const [k, v] of parseKeyValues(text)) {
    switch (k) {
      case 'usage_usec':
        s.cpu.usage.totalUsage = v * 1000n;
        break;
      case 'user_usec':
        s.cpu.usage.usageInUsermode = v * 1000n;
        break;
      case 'system_usec':
        s.cpu.usage.usageInKernelmode = v * 1000n;
        break;
      case 'nr_periods':
        s.cpu.throttling.periods = v;
        break;
      case 'nr_throttled':
        s.cpu.throttling.throttledPeriods = v;
        break;
      case 'throttled_usec':
        s.cpu.throttling.throttledTime = v * 1000n;
        break;
    }
  }
}
