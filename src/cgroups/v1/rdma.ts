/** rdma: HCA handle and object limits per device (v1 and v2 use the same files). */
import { intStr, readOptional, writeFile } from '../fsutil.js';
import type { RdmaEntry, Resources, Stats } from '../types.js';
import { join, type Subsystem } from './subsystem.js';

export function setRdma(dir: string | undefined, r: Resources): void {
  for (const [dev, l] of Object.entries(r.rdma)) {
    let line = dev;
    if (l.hcaHandles !== undefined) line += ` hca_handle=${intStr(l.hcaHandles)}`;
    if (l.hcaObjects !== undefined) line += ` hca_object=${intStr(l.hcaObjects)}`;
    writeFile(dir, 'rdma.max', line);
  }
}

function entries(text: string): RdmaEntry[] {
  const out: RdmaEntry[] = [];
  for (const line of text.split('\n')) {
    const parts = line.split(' ');
    if (parts.length !== 3) continue;
    const e: RdmaEntry = { device: parts[0], hcaHandles: 0, hcaObjects: 0 };
    let ok = true;
    for (const kv of parts.slice(1)) {
      const [k, v] = kv.split('=');
      if (v === undefined) {
        ok = false;
        break;
      }
      const n = v === 'max' ? 4294967295 : Number(v);
      if (k === 'hca_handle') e.hcaHandles = n;
      else if (k === 'hca_object') e.hcaObjects = n;
    }
    if (ok) out.push(e);
  }
  return out;
}

export function rdmaStats(dir: string, s: Stats): void {
  const current = readOptional(dir, 'rdma.current');
  if (current === undefined) return;
  const max = entries(readOptional(dir, 'rdma.max') ?? '');
  const cur = entries(current);
  if (cur.length !== max.length) return;
  s.rdma = { limit: max, current: cur };
}

export const rdma: Subsystem = {
  name: 'rdma',
  apply: (dir, _r, pid) => join(dir, pid),
  set: setRdma,
  stats: rdmaStats,
};
