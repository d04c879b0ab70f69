/**
 * A running container's new limits, as runc 1.1's `update`: the values
 * given replace the memory, cpu, blkio weight, pids and unified settings of
 * the container's config (a value not given is 0, "leave as is"); the
 * whole set is written again (devices untouched), set back when that fails,
 * and kept in the container's record for later updates.
 */
import { parseJson } from '../json.js';
import { UserError } from '../errors.js';
import { loadManager, resourcesFromSpec } from '../cgroups/index.js';
import { sharesToWeight } from '../cgroups/resources.js';
import type { LinuxResources } from '../spec/types.gen.js';
import { withLock, type RecordedConfig, type StateStore } from './state-store.js';
import { statusCheck } from './status.js';

/** The settings an update writes, as runc's update fills them (Go structs with zero defaults). */
export interface ResourceUpdate {
  memory: { limit: number; reservation: number; swap: number; kernel: number; kernelTCP: number };
  cpu: {
    shares: number;
    quota: number;
    period: number;
    realtimeRuntime: number;
    realtimePeriod: number;
    cpus: string;
    mems: string;
    burst?: number;
    idle?: number;
  };
  blockIO: { weight: number };
  pids: { limit: number };
  unified?: Record<string, string> | undefined;
}

/** Every setting at its zero value. */
export function emptyUpdate(): ResourceUpdate {
  return {
    memory: { limit: 0, reservation: 0, swap: 0, kernel: 0, kernelTCP: 0 },
    cpu: { shares: 0, quota: 0, period: 0, realtimeRuntime: 0, realtimePeriod: 0, cpus: '', mems: '' },
    blockIO: { weight: 0 },
    pids: { limit: 0 },
  };
}

/** Decode a linux.resources document over the zero values (as Go decodes into pre-filled structs). */
export function updateFromResourcesJson(text: string): ResourceUpdate {
  let doc: LinuxResources | null;
  try {
    // Exact 64-bit integers, as config.json (memory limits past 2^53 stay exact).
    doc = parseJson(text).value as LinuxResources | null;
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const u = emptyUpdate();
  if (doc === null || typeof doc !== 'object') return u;
  Object.assign(u.memory, doc.memory ?? {});
  Object.assign(u.cpu, doc.cpu ?? {});
  Object.assign(u.blockIO, doc.blockIO ?? {});
  Object.assign(u.pids, doc.pids ?? {});
  if (doc.unified)
    u.unified = Object.fromEntries(
      Object.entries(doc.unified).filter((e): e is [string, string] => e[1] !== undefined),
    );
  return u;
}

export interface UpdateRequest {
  /** Reads the new settings: called under the lock, once the container is known to exist. */
  settings: () => ResourceUpdate;
  /** Intel RDT schemata (--l3-cache-schema, --mem-bw-schema): refused, RDT is not supported. */
  l3CacheSchema?: string | undefined;
  memBwSchema?: string | undefined;
  warn: (msg: string) => void;
}

export function updateContainer(store: StateStore, id: string, req: UpdateRequest): void {
  withLock(store, id, () => {
    const rec = store.read(id);
    const u = req.settings();
    if (u.memory.kernel !== 0 || u.memory.kernelTCP !== 0)
      req.warn('Kernel memory settings are ignored and will be removed');
    if (req.l3CacheSchema) throw new UserError('Intel RDT/CAT: l3 cache schema is not enabled');
    if (req.memBwSchema) throw new UserError('Intel RDT/MBA: memory bandwidth schema is not enabled');

    if (!statusCheck(store, rec).canKill()) throw new UserError('container not running');
    const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
    if (!cgroup) throw new UserError('container has no cgroups to update');

    const spec = { ...rec.config, ociVersion: rec.ociVersion };
    const old = resourcesFromSpec(spec);
    old.skipDevices = true;
    const next = resourcesFromSpec(spec);
    next.skipDevices = true;
    next.blkioWeight = u.blockIO.weight;
    const [p, q] = [u.cpu.period, u.cpu.quota];
    if ((p === 0 && q === 0) || (p !== 0 && q !== 0)) {
      next.cpuPeriod = p;
      next.cpuQuota = q;
    } else if (p !== 0) next.cpuPeriod = p;
    else next.cpuQuota = q;
    next.cpuShares = u.cpu.shares;
    next.cpuWeight = sharesToWeight(u.cpu.shares);
    next.cpuRtPeriod = u.cpu.realtimePeriod;
    next.cpuRtRuntime = u.cpu.realtimeRuntime;
    next.cpusetCpus = u.cpu.cpus;
    next.cpusetMems = u.cpu.mems;
    if (u.cpu.burst !== undefined) next.cpuBurst = u.cpu.burst;
    if (u.cpu.idle !== undefined) next.cpuIdle = u.cpu.idle;
    next.memory = u.memory.limit;
    next.memoryReservation = u.memory.reservation;
    next.memorySwap = u.memory.swap;
    next.pidsLimit = u.pids.limit;
    if (u.unified) next.unified = u.unified;
    else delete next.unified;
    // Kernel memory (ignored), swappiness and the rest are not re-applied on update.
    next.kernelMemory = 0;
    next.kernelMemoryTCP = 0;

    try {
      cgroup.set(next);
    } catch (e) {
      try {
        cgroup.set(old);
      } catch (e2) {
        req.warn(
          `Setting back cgroup configs failed due to error: ${(e2 as Error).message}, your state.json and actual configs might be inconsistent.`,
        );
      }
      throw new UserError((e as Error).message);
    }

    keepInConfig(rec.config, next);
    store.write(rec);
  });
}

type Resources = ReturnType<typeof resourcesFromSpec>;

/** Keep what was set, in the config's own terms, for the next update. */
function keepInConfig(spec: RecordedConfig, next: Resources): void {
  const linux = (spec.linux ??= {});
  const res: LinuxResources = (linux.resources ??= {});
  res.memory = {
    ...res.memory,
    limit: next.memory,
    reservation: next.memoryReservation,
    swap: next.memorySwap,
  };
  res.cpu = {
    ...res.cpu,
    shares: next.cpuShares,
    quota: next.cpuQuota,
    period: next.cpuPeriod,
    realtimeRuntime: next.cpuRtRuntime,
    realtimePeriod: next.cpuRtPeriod,
    cpus: next.cpusetCpus,
    mems: next.cpusetMems,
  };
  if (next.cpuBurst !== undefined) res.cpu.burst = next.cpuBurst;
  if (next.cpuIdle !== undefined) res.cpu.idle = next.cpuIdle;
  res.blockIO = { ...res.blockIO, weight: next.blkioWeight };
  res.pids = { limit: next.pidsLimit };
  if (next.unified) res.unified = next.unified;
  else delete res.unified;
}
