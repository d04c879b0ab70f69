/**
 * The v1 (cgroupfs) driver: one directory per mounted hierarchy, joined and
 * written in runc's subsystem order. On a hybrid host the container also
 * joins the cgroup2 mount (subsystem ""), without limits there.
 */
import { allPids, exists, isPermissionError, NotMountedError, removePaths } from '../fsutil.js';
import type { FreezerState, Manager, Resources, RootlessPolicy, Stats } from '../types.js';
import { emptyStats } from '../types.js';
import { blkio } from './blkio.js';
import { cpu } from './cpu.js';
import { cpuacct } from './cpuacct.js';
import { cpuset } from './cpuset.js';
import { devices } from './devices.js';
import { freezer, freezerStateV1, setFreezerV1 } from './freezer.js';
import { hugetlb } from './hugetlb.js';
import { memory } from './memory.js';
import { named } from './named.js';
import { netCls, netPrio, perfEvent } from './net.js';
import { pids } from './pids.js';
import { rdma } from './rdma.js';
import type { Subsystem } from './subsystem.js';
import { signalAllFrozen } from '../signal.js';

export const SUBSYSTEMS: Subsystem[] = [
  cpuset,
  devices,
  memory,
  cpu,
  cpuacct,
  pids,
  blkio,
  hugetlb,
  netCls,
  netPrio,
  perfEvent,
  freezer,
  rdma,
  named('name=systemd'),
  named(''),
];

export class V1Manager implements Manager {
  readonly driver = 'cgroupfs-v1' as const;

  /**
   * @param dirs subsystem → directory, for the mounted subsystems only.
   * @param resources what `apply` needs to know beforehand (cpuset, rt runtime, skipDevices).
   * @param policy rootless: a hierarchy this user may not write is left out (as runc).
   */
  constructor(
    readonly dirs: Map<string, string>,
    private resources?: Resources,
    private readonly policy: RootlessPolicy = { rootless: false, explicitPath: false },
  ) {}

  paths(): string[] {
    return [...new Set(this.dirs.values())];
  }

  path(subsystem: string): string | undefined {
    return this.dirs.get(subsystem);
  }

  memoryPath(): string | undefined {
    return this.dirs.get('memory');
  }

  apply(pid: number): void {
    const r = this.resources;
    if (!r) throw new Error('cgroup v1 manager needs the resources before apply');
    for (const sys of SUBSYSTEMS) {
      const dir = this.dirs.get(sys.name);
      if (dir === undefined) continue;
      try {
        sys.apply(dir, r, pid);
      } catch (e) {
        // runc: without an explicit cgroupsPath a rootless container runs
        // without the hierarchies it may not join; a limit set on one of
        // them fails later in set(), with runc's words.
        if (this.policy.rootless && !this.policy.explicitPath && isPermissionError(e)) {
          this.dirs.delete(sys.name);
          continue;
        }
        throw e;
      }
      // name=systemd and cgroup2 joins fail silently (as runc's): rootless,
      // one that was not made is not the container's.
      if (this.policy.rootless && !exists(dir)) this.dirs.delete(sys.name);
    }
  }

  set(r: Resources): void {
    if (r.unified && Object.keys(r.unified).length > 0)
      throw new Error('invalid configuration: cannot use unified on cgroup v1');
    for (const sys of SUBSYSTEMS) {
      const dir = this.dirs.get(sys.name);
      try {
        sys.set(dir, r);
      } catch (e) {
        // Device rules are not expected to work rootless (runc ignores them too).
        if (this.policy.rootless && sys.name === 'devices') continue;
        if (e instanceof NotMountedError || dir === undefined) {
          throw new Error(`cannot set ${sys.name} limit: container could not join or create cgroup`, {
            cause: e,
          });
        }
        throw e;
      }
    }
    this.resources = r;
  }

  stats(): Stats {
    const s = emptyStats();
    for (const sys of SUBSYSTEMS) {
      const dir = this.dirs.get(sys.name);
      if (dir && sys.stats) sys.stats(dir, s);
    }
    return s;
  }

  freeze(state: 'FROZEN' | 'THAWED'): void {
    const dir = this.dirs.get('freezer');
    if (!dir) throw new Error('cannot toggle freezer: cgroups not configured for container');
    setFreezerV1(dir, state);
  }

  freezerState(): FreezerState {
    return freezerStateV1(this.dirs.get('freezer'));
  }

  /** The devices hierarchy is the reference (it must exist); else the first one. */
  private mainDir(): string | undefined {
    return this.dirs.get('devices') ?? this.paths()[0];
  }

  allPids(): number[] {
    const dir = this.mainDir();
    if (!dir) return [];
    return allPids(dir);
  }

  signalAll(signal: number): void {
    signalAllFrozen(this, signal);
  }

  exists(): boolean {
    const dir = this.mainDir();
    return dir !== undefined && exists(dir);
  }

  destroy(): void {
    removePaths(this.paths());
  }
}
