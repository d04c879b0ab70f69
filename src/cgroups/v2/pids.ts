/** pids (v2). */
import { getU64, intStr, readFile, readOptional, writeFile } from '../fsutil.js';
import type { Resources, Stats } from '../types.js';

const U64_MAX = (1n << 64n) - 1n;

export function setPids(dir: string, r: Resources): void {
  if (r.pidsLimit === 0) return;
  writeFile(dir, 'pids.max', r.pidsLimit === -1 || r.pidsLimit < 0 ? 'max' : intStr(r.pidsLimit));
}

export function statPids(dir: string, s: Stats): void {
  const current = readOptional(dir, 'pids.current');
  if (current === undefined) {
    // No pids controller: count the processes.
    s.pids.current = BigInt(
      readFile(dir, 'cgroup.procs')
        .split('\n')
        .filter((l) => l !== '').length,
    );
    s.pids.limit = 0n;
    return;
  }
  s.pids.current = BigInt(current.trim());
  const max = getU64(dir, 'pids.max');
  s.pids.limit = max === U64_MAX ? 0n : max;
}
