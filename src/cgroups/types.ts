/**
 * The cgroup Manager contract and the resource model both drivers share.
 * `Resources` follows runc's libcontainer/configs.Resources: 0 (or "") means
 * "leave as is", -1 means unlimited where the kernel has such a value.
 */

export type DeviceType = 'a' | 'b' | 'c';

/** A device cgroup rule; major/minor -1 is the wildcard `*`. */
export interface DeviceRule {
  type: DeviceType;
  major: number;
  minor: number;
  /** Some of "rwm", in that order. */
  permissions: string;
  allow: boolean;
}

export interface WeightDevice {
  major: number;
  minor: number;
  weight: number;
  leafWeight: number;
}

export interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export type FreezerState = 'FROZEN' | 'THAWED' | '';

export interface Resources {
  /** Device rules in order (the config's, then the runtime's defaults). */
  devices: DeviceRule[];
  /** Leave the device controller alone (update). */
  skipDevices?: boolean;

  memory: number;
  memoryReservation: number;
  memorySwap: number;
  kernelMemory: number;
  kernelMemoryTCP: number;
  /** undefined: leave as is. */
  memorySwappiness?: number;
  oomKillDisable: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;

  cpuShares: number;
  /** cgroup v2 cpu.weight, converted from shares. */
  cpuWeight: number;
  cpuQuota: number;
  cpuBurst?: number;
  cpuPeriod: number;
  cpuRtRuntime: number;
  cpuRtPeriod: number;
  cpusetCpus: string;
  cpusetMems: string;
  cpuIdle?: number;

  pidsLimit: number;

  blkioWeight: number;
  blkioLeafWeight: number;
  blkioWeightDevice: WeightDevice[];
  blkioThrottleReadBpsDevice: ThrottleDevice[];
  blkioThrottleWriteBpsDevice: ThrottleDevice[];
  blkioThrottleReadIOPSDevice: ThrottleDevice[];
  blkioThrottleWriteIOPSDevice: ThrottleDevice[];

  hugetlbLimit: Array<{ pageSize: string; limit: number }>;
  netClsClassid: number;
  netPrioIfpriomap: Array<{ name: string; priority: number }>;
  rdma: Record<string, { hcaHandles?: number | undefined; hcaObjects?: number | undefined }>;
  /** cgroup v2 files to write as given. */
  unified?: Record<string, string>;

  freezer: FreezerState;
}

export function emptyResources(): Resources {
  return {
    devices: [],
    memory: 0,
    memoryReservation: 0,
    memorySwap: 0,
    kernelMemory: 0,
    kernelMemoryTCP: 0,
    oomKillDisable: false,
    cpuShares: 0,
    cpuWeight: 0,
    cpuQuota: 0,
    cpuPeriod: 0,
    cpuRtRuntime: 0,
    cpuRtPeriod: 0,
    cpusetCpus: '',
    cpusetMems: '',
    pidsLimit: 0,
    blkioWeight: 0,
    blkioLeafWeight: 0,
    blkioWeightDevice: [],
    blkioThrottleReadBpsDevice: [],
    blkioThrottleWriteBpsDevice: [],
    blkioThrottleReadIOPSDevice: [],
    blkioThrottleWriteIOPSDevice: [],
    hugetlbLimit: [],
    netClsClassid: 0,
    netPrioIfpriomap: [],
    rdma: {},
    freezer: '',
  };
}

// ---- statistics: runc's libcontainer/cgroups.Stats, counters as bigint (u64) ----

export interface CpuUsage {
  totalUsage: bigint;
  percpuUsage: bigint[];
  percpuUsageInKernelmode: bigint[];
  percpuUsageInUsermode: bigint[];
  usageInKernelmode: bigint;
  usageInUsermode: bigint;
}

export interface ThrottlingData {
  periods: bigint;
  throttledPeriods: bigint;
  throttledTime: bigint;
}

export interface CpusetStats {
  cpus: number[];
  cpuExclusive: bigint;
  mems: number[];
  memHardwall: bigint;
  memExclusive: bigint;
  memoryMigrate: bigint;
  memorySpreadPage: bigint;
  memorySpreadSlab: bigint;
  memoryPressure: bigint;
  schedLoadBalance: bigint;
  schedRelaxDomainLevel: bigint;
}

export interface MemoryData {
  usage: bigint;
  maxUsage: bigint;
  failcnt: bigint;
  limit: bigint;
}

export interface BlkioStatEntry {
  major: bigint;
  minor: bigint;
  op: string;
  value: bigint;
}

export interface BlkioStats {
  ioServiceBytesRecursive: BlkioStatEntry[];
  ioServicedRecursive: BlkioStatEntry[];
  ioQueuedRecursive: BlkioStatEntry[];
  ioServiceTimeRecursive: BlkioStatEntry[];
  ioWaitTimeRecursive: BlkioStatEntry[];
  ioMergedRecursive: BlkioStatEntry[];
  ioTimeRecursive: BlkioStatEntry[];
  sectorsRecursive: BlkioStatEntry[];
}

export interface HugetlbStats {
  usage: bigint;
  maxUsage: bigint;
  failcnt: bigint;
}

export interface Stats {
  cpu: { usage: CpuUsage; throttling: ThrottlingData };
  cpuset: CpusetStats;
  memory: {
    cache: bigint;
    usage: MemoryData;
    swapUsage: MemoryData;
    kernelUsage: MemoryData;
    kernelTCPUsage: MemoryData;
    useHierarchy: boolean;
    stats: Record<string, bigint>;
  };
  pids: { current: bigint; limit: bigint };
  blkio: BlkioStats;
  hugetlb: Record<string, HugetlbStats>;
  rdma: { limit: RdmaEntry[]; current: RdmaEntry[] };
}

export interface RdmaEntry {
  device: string;
  hcaHandles: number;
  hcaObjects: number;
}

const memData = (): MemoryData => ({ usage: 0n, maxUsage: 0n, failcnt: 0n, limit: 0n });

export function emptyStats(): Stats {
  return {
    cpu: {
      usage: {
        totalUsage: 0n,
        percpuUsage: [],
        percpuUsageInKernelmode: [],
        percpuUsageInUsermode: [],
        usageInKernelmode: 0n,
        usageInUsermode: 0n,
      },
      throttling: { periods: 0n, throttledPeriods: 0n, throttledTime: 0n },
    },
    cpuset: {
      cpus: [],
      cpuExclusive: 0n,
      mems: [],
      memHardwall: 0n,
      memExclusive: 0n,
      memoryMigrate: 0n,
      memorySpreadPage: 0n,
      memorySpreadSlab: 0n,
      memoryPressure: 0n,
      schedLoadBalance: 0n,
      schedRelaxDomainLevel: 0n,
    },
    memory: {
      cache: 0n,
      usage: memData(),
      swapUsage: memData(),
      kernelUsage: memData(),
      kernelTCPUsage: memData(),
      useHierarchy: false,
      stats: {},
    },
    pids: { current: 0n, limit: 0n },
    blkio: {
      ioServiceBytesRecursive: [],
      ioServicedRecursive: [],
      ioQueuedRecursive: [],
      ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [],
      ioMergedRecursive: [],
      ioTimeRecursive: [],
      sectorsRecursive: [],
    },
    hugetlb: {},
    rdma: { limit: [], current: [] },
  };
}

/** A container's cgroups: one driver (v1 cgroupfs, v2 unified, systemd over either) behind one interface. */
/**
 * runc's rootless cgroup manager: permission errors are tolerated where a
 * container without a cgroup can still be correct.
 */
export interface RootlessPolicy {
  /** Tolerate permission errors (--rootless, or a non-root caller). */
  rootless: boolean;
  /** linux.cgroupsPath was given: a cgroup that was asked for must be made. */
  explicitPath: boolean;
}

export interface Manager {
  readonly driver: 'cgroupfs-v1' | 'cgroupfs-v2' | 'systemd';
  /** The systemd unit (systemd driver): kept in the container's record. */
  readonly unit?: string;
  /** The container's cgroup directories (stored in its record; `loadManager` takes them back). */
  paths(): string[];
  /** The directory of a v1 subsystem ("" is the unified one), or the v2 directory. */
  path(subsystem: string): string | undefined;
  /** Create the cgroups and move `pid` in (before the process runs). */
  apply(pid: number): void;
  /** Write resources. */
  set(r: Resources): void;
  stats(): Stats;
  freeze(state: 'FROZEN' | 'THAWED'): void;
  freezerState(): FreezerState;
  /** Every pid in the container's cgroup and its sub-cgroups. */
  allPids(): number[];
  /** Signal every process: freeze, signal, thaw (cgroup.kill for SIGKILL on v2). */
  signalAll(signal: number): void;
  exists(): boolean;
  /** Remove the cgroups (sub-cgroups first), retrying while busy. */
  destroy(): void;
  /** Directory of the memory controller, for OOM notifications. */
  memoryPath(): string | undefined;
}
