/** hugetlb (v1): limits per page size. */
import fs from 'node:fs';
import { exists, getU64, intStr, writeFile } from '../fsutil.js';
import type { Stats } from '../types.js';
import { join, type Subsystem } from './subsystem.js';

let sizes: string[] | undefined;

/** Page sizes as the hugetlb files name them: "2MB", "1GB" (from /sys/kernel/mm/hugepages). */
export function hugePageSizes(): string[] {
  if (sizes) return sizes;
  sizes = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync('/sys/kernel/mm/hugepages');
  } catch {}
  for (const n of names) {
    const m = /^hugepages-(\d+)kB$/.exec(n);
    if (!m) continue;
    // As the kernel names them (mm/hugetlb_cgroup.c), from a size in kB.
    const kb = Number(m[1]);
    sizes.push(
      kb >= 1 << 20
        ? `${Math.floor(kb / (1 << 20))}GB`
        : kb >= 1 << 10
          ? `${Math.floor(kb / (1 << 10))}MB`
          : `${kb}KB`,
    );
  }
  return sizes;
}

export const hugetlb: Subsystem = {
  name: 'hugetlb',
  apply: (dir, _r, pid) => join(dir, pid),
  set(dir, r) {
    for (const h of r.hugetlbLimit) writeFile(dir, `hugetlb.${h.pageSize}.limit_in_bytes`, intStr(h.limit));
  },
  stats(dir, s: Stats) {
    if (!exists(dir)) return;
    for (const size of hugePageSizes()) {
      s.hugetlb[size] = {
        usage: getU64(dir, `hugetlb.${size}.usage_in_bytes`),
        maxUsage: getU64(dir, `hugetlb.${size}.max_usage_in_bytes`),
        failcnt: getU64(dir, `hugetlb.${size}.failcnt`),
      };
    }
  },
};
