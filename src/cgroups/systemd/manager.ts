/**
 * The systemd driver (--systemd-cgroup), as runc 1.1's: the container's
 * cgroup is a transient unit that systemd creates over D-Bus (a scope with
 * Delegate=yes holding the init, or a slice); what systemd knows goes as
 * unit properties, and the cgroupfs driver underneath writes every file
 * as well (what systemd has no property for: swappiness, hugetlb, io
 * devices, unified files...), reads stats, freezes and signals.
 */
import fs from 'node:fs';
import path from 'node:path';
import { warn } from '../../output.js';
import { DEFAULT_ROOT, findMount } from '../mounts.js';
import type { FreezerState, Manager, Resources, Stats } from '../types.js';
import { SUBSYSTEMS, V1Manager } from '../v1/manager.js';
import { V2Manager } from '../v2/manager.js';
import { SystemdBus } from './bus.js';
import {
  unitProperties,
  v1ResourceProperties,
  v2ResourceProperties,
  type Property,
  type UnitPlace,
} from './unit.js';

/** runc's IsRunningSystemd. */
export function isRunningSystemd(): boolean {
  try {
    return fs.lstatSync('/run/systemd/system').isDirectory();
  } catch {
    return false;
  }
}

/** The cgroupfs manager for a unit's cgroup: one v2 directory, or one per mounted v1 hierarchy. */
export function fsManagerFor(cgroup: string, unified: boolean, resources?: Resources): V1Manager | V2Manager {
  if (unified) return new V2Manager(DEFAULT_ROOT, path.posix.join(DEFAULT_ROOT, cgroup), resources);
  const dirs = new Map<string, string>();
  for (const s of SUBSYSTEMS) {
    const m = findMount(s.name);
    if (m) dirs.set(s.name, path.posix.join(m.mountpoint, cgroup));
  }
  return new V1Manager(dirs, resources);
}

export class SystemdManager implements Manager {
  readonly driver = 'systemd' as const;
  private busClient?: SystemdBus;

  constructor(
    readonly unit: string,
    private fsm: V1Manager | V2Manager,
    /** For a new container: where the unit goes, its resources and annotation properties. */
    private start?: { place: UnitPlace; resources: Resources; extra: Property[] },
  ) {}

  /** Start reaching the bus now: a socket that is not there fails here, before anything is made. */
  connect(): void {
    this.bus();
  }

  /** The bus (connected on first use: ps, pause, events need none). */
  bus(): SystemdBus {
    this.busClient ??= new SystemdBus();
    return this.busClient;
  }

  private unified(): boolean {
    return this.fsm instanceof V2Manager;
  }

  resourceProperties(r: Resources): Property[] {
    const info = { version: this.bus().version() };
    return this.unified() ? v2ResourceProperties(r, info, warn) : v1ResourceProperties(r, info, warn);
  }

  paths(): string[] {
    return this.fsm.paths();
  }

  path(subsystem: string): string | undefined {
    return this.fsm.path(subsystem);
  }

  memoryPath(): string | undefined {
    return this.fsm.memoryPath();
  }

  apply(pid: number): void {
    const s = this.start;
    if (!s) throw new Error(`unit ${this.unit}: no configuration to start it with`);
    try {
      const props = [...unitProperties(s.place, pid), ...this.resourceProperties(s.resources), ...s.extra];
      this.bus().startUnit(this.unit, props);
    } catch (e) {
      throw new Error(`unable to start unit ${JSON.stringify(this.unit)}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    // Also makes the directories systemd does not (v1 hierarchies it does not manage) and joins them.
    this.fsm.apply(pid);
  }

  set(r: Resources): void {
    this.bus().setProperties(this.unit, this.resourceProperties(r));
    this.fsm.set(r);
  }

  stats(): Stats {
    return this.fsm.stats();
  }

  freeze(state: 'FROZEN' | 'THAWED'): void {
    this.fsm.freeze(state);
  }

  freezerState(): FreezerState {
    return this.fsm.freezerState();
  }

  allPids(): number[] {
    return this.fsm.allPids();
  }

  signalAll(signal: number): void {
    this.fsm.signalAll(signal);
  }

  exists(): boolean {
    return this.fsm.exists();
  }

  /** Stop the unit (and clear a failed state, so the name can be used again), then remove what is left. */
  destroy(): void {
    let error: Error | undefined;
    try {
      const bus = this.bus();
      const result = bus.stopUnit(this.unit);
      if (result !== 'done') warn(`error removing unit \`${this.unit}\`: got \`${result}\`. Continuing...`);
      bus.resetFailed(this.unit);
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
    }
    // Directories systemd does not remove (v1 hierarchies it does not manage) go in any case.
    this.fsm.destroy();
    if (error) throw error;
  }
}
