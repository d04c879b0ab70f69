/** cpuset: a new cpuset cgroup starts with no cpus and mems; copy them down from its parents. */
import fs from 'node:fs';
import path from 'node:path';
import { getI64, getU64, readFile, readOptional, writeFile, writeProc } from '../fsutil.js';
import type { Resources, Stats } from '../types.js';
import type { Subsystem } from './subsystem.js';
import { errnoOf } from '../../linux/errno.js';

const CGROUP_SUPER_MAGIC = 0x27e0eb;

function setCpuset(dir: string | undefined, r: Resources): void {
  if (r.cpusetCpus) writeFile(dir, 'cpuset.cpus', r.cpusetCpus);
  if (r.cpusetMems) writeFile(dir, 'cpuset.mems', r.cpusetMems);
}

const isEmpty = (s: string) => s === '' || s === '\n';

function copyIfNeeded(current: string, parent: string): void {
  const cur = { cpus: readFile(current, 'cpuset.cpus'), mems: readFile(current, 'cpuset.mems') };
  const par = { cpus: readFile(parent, 'cpuset.cpus'), mems: readFile(parent, 'cpuset.mems') };
  if (isEmpty(cur.cpus)) writeFile(current, 'cpuset.cpus', par.cpus);
  if (isEmpty(cur.mems)) writeFile(current, 'cpuset.mems', par.mems);
}

/** Make every cpuset ancestor of `current` exist with cpus and mems set (runc's cpusetEnsureParent). */
function ensureParent(current: string): void {
  const parent = path.dirname(current);
  let type: number | undefined;
  try {
    type = fs.statfsSync(parent).type;
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
  if (type !== undefined && type !== CGROUP_SUPER_MAGIC) return; // the mount's own directory is above
  ensureParent(parent);
  try {
    fs.mkdirSync(current, { mode: 0o755 });
  } catch (e) {
    if (errnoOf(e) !== 'EEXIST') throw e;
  }
  copyIfNeeded(current, parent);
}

/** "0-3,7" → [0,1,2,3,7]. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  const t = text.trim();
  if (!t) return out;
  for (const part of t.split(',')) {
    const bounds = part.split('-');
    const [a = ''] = bounds;
    const b = bounds.at(1);
    if (b === undefined) out.push(Number(a));
    else for (let i = Number(a); i <= Number(b); i++) out.push(i);
  }
  return out;
}

export const cpuset: Subsystem = {
  name: 'cpuset',
  apply(dir, r, pid) {
    ensureParent(path.dirname(dir));
    try {
      fs.mkdirSync(dir, { mode: 0o755 });
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw e;
    }
    setCpuset(dir, r);
    copyIfNeeded(dir, path.dirname(dir));
    writeProc(dir, pid);
  },
  set: setCpuset,
  stats(dir, s: Stats) {
    const list = readOptional(dir, 'cpuset.cpus');
    if (list !== undefined) s.cpuset.cpus = parseCpuList(list);
    const mems = readOptional(dir, 'cpuset.mems');
    if (mems !== undefined) s.cpuset.mems = parseCpuList(mems);
    const u = (f: string) => (readOptional(dir, f) === undefined ? 0n : getU64(dir, f));
    s.cpuset.cpuExclusive = u('cpuset.cpu_exclusive');
    s.cpuset.memHardwall = u('cpuset.mem_hardwall');
    s.cpuset.memExclusive = u('cpuset.mem_exclusive');
    s.cpuset.memoryMigrate = u('cpuset.memory_migrate');
    s.cpuset.memorySpreadPage = u('cpuset.memory_spread_page');
    s.cpuset.memorySpreadSlab = u('cpuset.memory_spread_slab');
    s.cpuset.memoryPressure = u('cpuset.memory_pressure');
    s.cpuset.schedLoadBalance = u('cpuset.sched_load_balance');
    s.cpuset.schedRelaxDomainLevel =
      readOptional(dir, 'cpuset.sched_relax_domain_level') === undefined
        ? 0n
        : getI64(dir, 'cpuset.sched_relax_domain_level');
  },
};
