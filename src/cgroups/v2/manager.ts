/**
 * The v2 (unified) driver: one directory; controllers enabled down the path
 * from the mount (only those not enabled yet, so an already delegated tree
 * is left untouched); devices through an eBPF program.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  allPids,
  exists,
  isPermissionError,
  readOptional,
  removePaths,
  writeFile,
  writeProc,
} from '../fsutil.js';
import type { FreezerState, Manager, Resources, RootlessPolicy, Stats } from '../types.js';
import { emptyStats } from '../types.js';
import { rdmaStats, setRdma } from '../rdma.js';
import { signalAllFrozen } from '../signal.js';
import { isCpuSet, setCpu, statCpu } from './cpu.js';
import { setDevicesV2 } from './devices.js';
import { freezerStateV2, setFreezerV2 } from './freezer.js';
import { setHugetlb, statHugetlb } from './hugetlb.js';
import { isIoSet, setIo, statIo } from './io.js';
import { isMemorySet, setMemory, statMemory } from './memory.js';
import { setPids, statPids } from './pids.js';
import { setUnified } from './unified.js';
import { errnoOf } from '../../linux/errno.js';

const words = (s: string | undefined) => new Set((s ?? '').split(/\s+/).filter(Boolean));

function setCpuset(dir: string, r: Resources): void {
  if (r.cpusetCpus) writeFile(dir, 'cpuset.cpus', r.cpusetCpus);
  if (r.cpusetMems) writeFile(dir, 'cpuset.mems', r.cpusetMems);
}

export class V2Manager implements Manager {
  readonly driver = 'cgroupfs-v2' as const;

  /**
   * @param mount the cgroup2 mountpoint (/sys/fs/cgroup on a unified host)
   * @param dir the container's cgroup, under `mount`
   * @param policy rootless: without permission and without limits, no cgroup at all (as runc)
   */
  constructor(
    readonly mount: string,
    readonly dir: string,
    private resources?: Resources,
    private readonly policy: RootlessPolicy = { rootless: false, explicitPath: false },
  ) {
    const rel = path.relative(mount, dir);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`invalid cgroup path ${dir}`);
  }

  /** A rootless container that could not make its cgroup runs in its creator's. */
  private joined = true;

  paths(): string[] {
    return this.joined ? [this.dir] : [];
  }

  path(): string {
    return this.dir;
  }

  memoryPath(): string {
    return this.dir;
  }

  private domainControllers(r?: Resources): boolean {
    return !!r && (isMemorySet(r) || isIoSet(r) || isCpuSet(r) || r.hugetlbLimit.length > 0);
  }

  /** mkdir down to the container's cgroup, enabling the mount's controllers on the way (runc's CreateCgroupPath). */
  createPath(): void {
    const available = [...words(readOptional(this.mount, 'cgroup.controllers'))];
    const parts = path.relative(this.mount, this.dir).split('/').filter(Boolean);
    const created: string[] = [];
    try {
      let current = this.mount;
      for (let i = 0; i <= parts.length; i++) {
        const part = parts.at(i - 1);
        if (i > 0 && part !== undefined) {
          current = path.join(current, part);
          try {
            fs.mkdirSync(current, { mode: 0o755 });
            created.push(current);
          } catch (e) {
            if (errnoOf(e) !== 'EEXIST') throw e;
          }
          const type = (readOptional(current, 'cgroup.type') ?? '').trim();
          if (type === 'domain invalid') {
            if (this.domainControllers(this.resources)) {
              throw new Error(
                `cannot enter cgroupv2 ${JSON.stringify(current)} with domain controllers -- it is in an invalid state`,
              );
            }
            try {
              writeFile(current, 'cgroup.type', 'threaded');
            } catch {}
          } else if (type === 'domain threaded' || type === 'threaded') {
            if (this.domainControllers(this.resources)) {
              throw new Error(
                `cannot enter cgroupv2 ${JSON.stringify(current)} with domain controllers -- it is in ${type} mode`,
              );
            }
          }
        }
        if (i < parts.length) this.enableControllers(current, available);
      }
    } catch (e) {
      for (const d of created.reverse()) {
        try {
          fs.rmdirSync(d);
        } catch {}
      }
      throw e;
    }
  }

  private enableControllers(dir: string, available: string[]): void {
    const have = words(readOptional(dir, 'cgroup.subtree_control'));
    const here = words(readOptional(dir, 'cgroup.controllers'));
    const missing = available.filter((c) => !have.has(c) && here.has(c));
    if (missing.length === 0) return;
    try {
      writeFile(dir, 'cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
    } catch {
      // One at a time: some may be refused (a threaded subtree, a busy parent).
      for (const c of missing) {
        try {
          writeFile(dir, 'cgroup.subtree_control', `+${c}`);
        } catch {}
      }
    }
  }

  apply(pid: number): void {
    try {
      this.createPath();
      writeProc(this.dir, pid);
    } catch (e) {
      if (!this.policy.rootless || this.policy.explicitPath || !isPermissionError(e)) throw e;
      if (this.needsControllers()) {
        throw new Error(
          `rootless needs no limits + no cgrouppath when no permission is granted for cgroups: ${(e as Error).message}`,
          { cause: e },
        );
      }
      this.joined = false;
    }
  }

  /** runc's needAnyControllers: a limit this host's cgroup2 could enforce. */
  private needsControllers(): boolean {
    const r = this.resources;
    if (!r) return false;
    const have = words(readOptional(this.mount, 'cgroup.controllers'));
    return (
      (r.pidsLimit !== 0 && have.has('pids')) ||
      (isMemorySet(r) && have.has('memory')) ||
      (isIoSet(r) && have.has('io')) ||
      (isCpuSet(r) && have.has('cpu')) ||
      ((r.cpusetCpus !== '' || r.cpusetMems !== '') && have.has('cpuset')) ||
      (r.hugetlbLimit.length > 0 && have.has('hugetlb'))
    );
  }

  set(r: Resources): void {
    if (!this.joined) return;
    const controllers = words(readOptional(this.dir, 'cgroup.controllers'));
    setPids(this.dir, r);
    setMemory(this.dir, r);
    setIo(this.dir, r);
    setCpu(this.dir, r);
    try {
      setDevicesV2(this.dir, r);
    } catch (e) {
      // As runc: a device program is not expected to load rootless (BPF needs privileges).
      if (!this.policy.rootless) throw e;
    }
    setCpuset(this.dir, r);
    setHugetlb(this.dir, r);
    setRdma(this.dir, r);
    setFreezerV2(this.dir, r.freezer);
    setUnified(this.dir, r.unified, controllers);
    this.resources = r;
  }

  stats(): Stats {
    const s = emptyStats();
    const errors: string[] = [];
    for (const f of [statPids, statMemory, statIo, statCpu, statHugetlb, rdmaStats]) {
      try {
        f(this.dir, s);
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') errors.push((e as Error).message);
      }
    }
    if (errors.length > 0) throw new Error(`error while statting cgroup v2: ${errors.join('; ')}`);
    return s;
  }

  freeze(state: 'FROZEN' | 'THAWED'): void {
    setFreezerV2(this.dir, state);
  }

  freezerState(): FreezerState {
    return freezerStateV2(this.dir);
  }

  allPids(): number[] {
    return allPids(this.dir);
  }

  signalAll(signal: number): void {
    if (signal === 9 && exists(path.join(this.dir, 'cgroup.kill'))) {
      writeFile(this.dir, 'cgroup.kill', '1');
      return;
    }
    signalAllFrozen(this, signal);
  }

  exists(): boolean {
    return exists(this.dir);
  }

  destroy(): void {
    removePaths([this.dir]);
  }
}
