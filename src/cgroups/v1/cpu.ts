/** cpu (v1): shares, CFS quota/period/burst, idle, realtime runtime/period. */
import { CgroupFileError, getU64, intStr, parseKeyValues, readOptional, writeFile } from '../fsutil.js';
import type { Resources, Stats } from '../types.js';
import { join, type Subsystem } from './subsystem.js';

function setRtSched(dir: string | undefined, r: Resources): void {
  if (r.cpuRtPeriod !== 0) writeFile(dir, 'cpu.rt_period_us', intStr(r.cpuRtPeriod));
  if (r.cpuRtRuntime !== 0) writeFile(dir, 'cpu.rt_runtime_us', intStr(r.cpuRtRuntime));
}

function setCpu(dir: string | undefined, r: Resources): void {
  if (r.cpuShares !== 0) {
    writeFile(dir, 'cpu.shares', intStr(r.cpuShares));
    const read = getU64(dir!, 'cpu.shares');
    const want = BigInt(intStr(r.cpuShares));
    if (want > read) throw new Error(`the maximum allowed cpu-shares is ${read}`);
    if (want < read) throw new Error(`the minimum allowed cpu-shares is ${read}`);
  }
  // A new period may be refused (EINVAL) against the current quota: retry it after the quota.
  let period = '';
  if (r.cpuPeriod !== 0) {
    period = intStr(r.cpuPeriod);
    try {
      writeFile(dir, 'cpu.cfs_period_us', period);
      period = '';
    } catch (e) {
      if ((e as CgroupFileError).code !== 'EINVAL' || r.cpuQuota === 0) throw e;
    }
  }
  if (r.cpuQuota !== 0) {
    writeFile(dir, 'cpu.cfs_quota_us', intStr(r.cpuQuota));
    if (period) writeFile(dir, 'cpu.cfs_period_us', period);
  }
  if (r.cpuBurst !== undefined) writeFile(dir, 'cpu.cfs_burst_us', intStr(r.cpuBurst));
  if (r.cpuIdle !== undefined) writeFile(dir, 'cpu.idle', intStr(r.cpuIdle));
  setRtSched(dir, r);
}

export const cpu: Subsystem = {
  name: 'cpu',
  apply(dir, r, pid) {
    // Realtime runtime must be granted before a realtime task may join.
    join(dir, -1);
    setRtSched(dir, r);
    join(dir, pid);
  },
  set: setCpu,
  stats(dir, s: Stats) {
    const text = readOptional(dir, 'cpu.stat');
    if (text === undefined) return;
    for (const [k, v] of parseKeyValues(text)) {
      if (k === 'nr_periods') s.cpu.throttling.periods = v;
      else if (k === 'nr_throttled') s.cpu.throttling.throttledPeriods = v;
      else if (k === 'throttled_time') s.cpu.throttling.throttledTime = v;
    }
  },
};
