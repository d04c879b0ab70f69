/** pids: the task limit. */
import { exists, getU64, intStr, writeFile } from '../fsutil.js';
import type { Stats } from '../types.js';
import { join, type Subsystem } from './subsystem.js';

const U64_MAX = (1n << 64n) - 1n;

export const pids: Subsystem = {
  name: 'pids',
  apply: (dir, _r, pid) => join(dir, pid),
  set(dir, r) {
    if (r.pidsLimit !== 0) writeFile(dir, 'pids.max', r.pidsLimit > 0 ? intStr(r.pidsLimit) : 'max');
  },
  stats(dir, s: Stats) {
    if (!exists(dir)) return;
    s.pids.current = getU64(dir, 'pids.current');
    const max = getU64(dir, 'pids.max');
    s.pids.limit = max === U64_MAX ? 0n : max;
  },
};
