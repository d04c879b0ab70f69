/** cpuacct (v1): CPU time, in total, per CPU and per mode. */
import { exists, getU64, parseU64, readFile, readOptional } from '../fsutil.js';
import type { Stats } from '../types.js';
import { join, noSet, type Subsystem } from './subsystem.js';

const NS_PER_S = 1_000_000_000n;
const CLOCK_TICKS = 100n; // USER_HZ

export const cpuacct: Subsystem = {
  name: 'cpuacct',
  apply: (dir, _r, pid) => join(dir, pid),
  set: noSet,
  stats(dir, s: Stats) {
    if (!exists(dir)) return;
    const [userKey, user = '', systemKey, system = ''] = readFile(dir, 'cpuacct.stat').trim().split(/\s+/);
    if (userKey !== 'user' || systemKey !== 'system')
      throw new Error(`malformed line in ${dir}/cpuacct.stat`);
    const u = s.cpu.usage;
    u.usageInUsermode = (parseU64(user) * NS_PER_S) / CLOCK_TICKS;
    u.usageInKernelmode = (parseU64(system) * NS_PER_S) / CLOCK_TICKS;
    u.totalUsage = getU64(dir, 'cpuacct.usage');
    u.percpuUsage = readFile(dir, 'cpuacct.usage_percpu')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((v) => parseU64(v));
    const all = readOptional(dir, 'cpuacct.usage_all');
    u.percpuUsageInKernelmode = [];
    u.percpuUsageInUsermode = [];
    if (all !== undefined) {
      for (const line of all.split('\n').slice(1)) {
        const cols = line.split(' ');
        if (cols.length !== 3) continue;
        const [, user = '', system = ''] = cols;
        u.percpuUsageInUsermode.push(parseU64(user));
        u.percpuUsageInKernelmode.push(parseU64(system));
      }
    }
  },
};
