/** hugetlb (v2): hugetlb.<size>.max, and .rsvd.max (reservations) where the kernel has it. */
import path from 'node:path';
import { exists, getU64, getValueByKey, intStr, writeFile } from '../fsutil.js';
import { hugePageSizes } from '../v1/hugetlb.js';
import type { Resources, Stats } from '../types.js';

export function setHugetlb(dir: string, r: Resources): void {
  for (const h of r.hugetlbLimit) {
    writeFile(dir, `hugetlb.${h.pageSize}.max`, intStr(h.limit));
    const rsvd = `hugetlb.${h.pageSize}.rsvd.max`;
    if (exists(path.join(dir, rsvd))) writeFile(dir, rsvd, intStr(h.limit));
  }
}

export function statHugetlb(dir: string, s: Stats): void {
  for (const size of hugePageSizes()) {
    if (!exists(path.join(dir, `hugetlb.${size}.current`))) return;
    s.hugetlb[size] = {
      usage: getU64(dir, `hugetlb.${size}.current`),
      maxUsage: 0n,
      failcnt: getValueByKey(dir, `hugetlb.${size}.events`, 'max'),
    };
  }
}
