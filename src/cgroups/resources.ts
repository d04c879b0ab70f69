/**
 * linux.resources of a config → Resources, as runc's specconv does it: the
 * config's device rules then the runtime's defaults, shares converted to a
 * v2 weight, absent values 0 ("leave as is").
 */
import type { LinuxResources, Spec } from '../spec/types.gen.js';
import { defaultDeviceRules } from './devices.js';
import { emptyResources, type DeviceRule, type Resources } from './types.js';

/** runc 1.1's shares (2..262144) → cpu.weight (1..10000). */
export function sharesToWeight(shares: number | bigint): number {
  if (shares === 0) return 0;
  // Number(): shares past 2^53 arrive as bigints; the kernel clamps the weight anyway.
  return 1 + Math.floor(((Number(shares) - 2) * 9999) / 262142);
}

/** blkio.weight (10..1000) → io.weight (1..10000). */
export function blkioToIoWeight(w: number): number {
  if (w === 0) return 0;
  return 1 + Math.floor(((w - 10) * 9999) / 990);
}

/** memory+swap (v1 semantics) → memory.swap.max (v2); -1 is "max", 0 "unset". */
export function swapToV2(memorySwap: number, memory: number): number {
  if (memory === -1 && memorySwap === 0) return -1;
  if (memorySwap === -1 || memorySwap === 0) return memorySwap;
  if (memory === 0 || memory === -1) throw new Error('unable to set swap limit without memory limit');
  if (memory < 0) throw new Error(`invalid memory value: ${memory}`);
  if (memorySwap < memory) throw new Error('memory+swap limit should be >= memory limit');
  // Exact: either may be a bigint (a config value past 2^53).
  const swap = BigInt(memorySwap) - BigInt(memory);
  return (swap <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(swap) : swap) as number;
}

/** The device types a cgroup rule can name (the spec's config is not trusted to have only these). */
const CGROUP_DEVICE_TYPES: ReadonlySet<string> = new Set(['a', 'b', 'c']);

export function deviceRulesFromSpec(devices: NonNullable<LinuxResources['devices']>): DeviceRule[] {
  return devices.map((d, i) => {
    const type = d.type ?? 'a';
    if (!CGROUP_DEVICE_TYPES.has(type)) throw new Error(`invalid cgroup device type ${JSON.stringify(type)}`);
    if (!d.access) throw new Error(`device access at ${i} field cannot be empty`);
    return { type, major: d.major ?? -1, minor: d.minor ?? -1, permissions: d.access, allow: d.allow };
  });
}

/** Resources for creating a container from its config. */
export function resourcesFromSpec(spec: Spec): Resources {
  const r = emptyResources();
  const lr = spec.linux?.resources;
  if (lr) mergeSpecResources(r, lr);
  if (lr?.devices) r.devices = deviceRulesFromSpec(lr.devices);
  r.devices.push(...defaultDeviceRules((spec.linux?.devices ?? []).map((d) => d.path)));
  return r;
}

/** Copy what `lr` sets into `r` (everything but devices). */
export function mergeSpecResources(r: Resources, lr: LinuxResources): void {
  const m = lr.memory;
  if (m) {
    if (m.limit !== undefined) r.memory = m.limit;
    if (m.reservation !== undefined) r.memoryReservation = m.reservation;
    if (m.swap !== undefined) r.memorySwap = m.swap;
    if (m.kernel !== undefined) r.kernelMemory = m.kernel;
    if (m.kernelTCP !== undefined) r.kernelMemoryTCP = m.kernelTCP;
    if (m.swappiness !== undefined) r.memorySwappiness = m.swappiness;
    if (m.disableOOMKiller !== undefined) r.oomKillDisable = m.disableOOMKiller;
    if (m.useHierarchy !== undefined) r.useHierarchy = m.useHierarchy;
    if (m.checkBeforeUpdate !== undefined) r.checkBeforeUpdate = m.checkBeforeUpdate;
  }
  const c = lr.cpu;
  if (c) {
    if (c.shares !== undefined) {
      r.cpuShares = c.shares;
      r.cpuWeight = sharesToWeight(c.shares);
    }
    if (c.quota !== undefined) r.cpuQuota = c.quota;
    if (c.burst !== undefined) r.cpuBurst = c.burst;
    if (c.period !== undefined) r.cpuPeriod = c.period;
    if (c.realtimeRuntime !== undefined) r.cpuRtRuntime = c.realtimeRuntime;
    if (c.realtimePeriod !== undefined) r.cpuRtPeriod = c.realtimePeriod;
    if (c.cpus !== undefined) r.cpusetCpus = c.cpus;
    if (c.mems !== undefined) r.cpusetMems = c.mems;
    if (c.idle !== undefined) r.cpuIdle = c.idle;
  }
  if (lr.pids?.limit !== undefined) r.pidsLimit = lr.pids.limit;
  const b = lr.blockIO;
  if (b) {
    if (b.weight !== undefined) r.blkioWeight = b.weight;
    if (b.leafWeight !== undefined) r.blkioLeafWeight = b.leafWeight;
    if (b.weightDevice) {
      r.blkioWeightDevice = b.weightDevice.map((d) => ({
        major: d.major,
        minor: d.minor,
        weight: d.weight ?? 0,
        leafWeight: d.leafWeight ?? 0,
      }));
    }
    const td = (l?: Array<{ major: number; minor: number; rate: number }>) =>
      (l ?? []).map((d) => ({ major: d.major, minor: d.minor, rate: d.rate }));
    if (b.throttleReadBpsDevice) r.blkioThrottleReadBpsDevice = td(b.throttleReadBpsDevice);
    if (b.throttleWriteBpsDevice) r.blkioThrottleWriteBpsDevice = td(b.throttleWriteBpsDevice);
    if (b.throttleReadIOPSDevice) r.blkioThrottleReadIOPSDevice = td(b.throttleReadIOPSDevice);
    if (b.throttleWriteIOPSDevice) r.blkioThrottleWriteIOPSDevice = td(b.throttleWriteIOPSDevice);
  }
  if (lr.hugepageLimits)
    r.hugetlbLimit = lr.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: h.limit }));
  if (lr.network) {
    if (lr.network.classID !== undefined) r.netClsClassid = lr.network.classID;
    if (lr.network.priorities)
      r.netPrioIfpriomap = lr.network.priorities.map((p) => ({ name: p.name, priority: p.priority }));
  }
  if (lr.rdma) {
    r.rdma = {};
    for (const [dev, v] of Object.entries(lr.rdma))
      if (v) r.rdma[dev] = { hcaHandles: v.hcaHandles, hcaObjects: v.hcaObjects };
  }
  if (lr.unified && Object.keys(lr.unified).length > 0) {
    r.unified = {};
    for (const [k, v] of Object.entries(lr.unified)) if (v !== undefined) r.unified[k] = v;
  }
}
