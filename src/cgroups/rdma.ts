/** rdma: HCA handle and object limits per device (v1 and v2 use the same files). */
import { intStr, readOptional, writeFile } from './fsutil.js';
import type { RdmaEntry, Resources, Stats } from './types.js';

export function setRdma(dir: string | undefined, r: Resources): void {
  for (const [dev, l] of Object.entries(r.rdma)) {
    let line = dev;
    if (l.hcaHandles !== undefined) line += ` hca_handle=${intStr(l.hcaHandles)}`;
    if (l.hcaObjects !== undefined) line += ` hca_object=${intStr(l.hcaObjects)}`;
    writeFile(dir, 'rdma.max', line);
  }
}

/** Lines "DEVICE hca_handle=N hca_object=N" ("max" for no limit) of rdma.max or rdma.current. */
function entries(text: string): RdmaEntry[] {
  const out: RdmaEntry[] = [];
  for (const line of text.split('\n')) {
    const [device = '', ...limits] = line.split(' ');
    if (limits.length !== 2) continue;
    const e: RdmaEntry = { device, hcaHandles: 0, hcaObjects: 0 };
    let ok = true;
    for (const kv of limits) {
      const eq = kv.indexOf('=');
      if (eq < 0) {
        ok = false;
        break;
      }
      const [k, v] = [kv.slice(0, eq), kv.slice(eq + 1)];
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
