/** cpu (v1): shares, CFS quota/period/burst, idle, realtime runtime/period. */
import { getU64, intStr, parseKeyValues, readOptional, writeFile } from '../fsutil.js';
import type { Resources, Stats } from '../types.js';
import { join, type Subsystem } from './subsystem.js';
import { errnoOf } from '../../linux/errno.js';

/**
 * A period and the budget within it (CFS quota, real-time runtime) depend on
 * each other: a new period may be refused (EINVAL) against the current
 * budget, so when both are given it is retried after the budget, as runc does.
 */
function setPeriodAndBudget(
  dir: string | undefined,
  periodFile: string,
  period: number,
  budgetFile: string,
  budget: number,
): void {
  let pending = '';
  if (period !== 0) {
    pending = intStr(period);
    try {
      writeFile(dir, periodFile, pending);
      pending = '';
    } catch (e) {
      if (errnoOf(e) !== 'EINVAL' || budget === 0) throw e;
    }
  }
  if (budget !== 0) {
    writeFile(dir, budgetFile, intStr(budget));
    if (pending) writeFile(dir, periodFile, pending);
  }
}

/** Real-time bandwidth; the parents' are never written (they are not the container's). */
function setRtSched(dir: string | undefined, r: Resources): void {
  setPeriodAndBudget(dir, 'cpu.rt_period_us', r.cpuRtPeriod, 'cpu.rt_runtime_us', r.cpuRtRuntime);
}

function setCpu(dir: string | undefined, r: Resources): void {
  if (r.cpuShares !== 0) {
    writeFile(dir, 'cpu.shares', intStr(r.cpuShares));
    const read = getU64(dir, 'cpu.shares');
    const want = BigInt(intStr(r.cpuShares));
    if (want > read) throw new Error(`the maximum allowed cpu-shares is ${read}`);
    if (want < read) throw new Error(`the minimum allowed cpu-shares is ${read}`);
  }
  setPeriodAndBudget(dir, 'cpu.cfs_period_us', r.cpuPeriod, 'cpu.cfs_quota_us', r.cpuQuota);
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
