/**
 * What `runts events` prints: runc's types.Stats document (field names,
 * nesting and omitempty rules of runc's types/events.go) and OOM
 * notifications from the memory controller.
 */
import fs from 'node:fs';
import path from 'node:path';
import { eventfd } from '../linux/eventfd.js';
import { getValueByKey, readOptional, writeFile } from './fsutil.js';
import type { BlkioStatEntry, MemoryData, Stats } from './types.js';

/** A JSON value whose object keys keep their order and whose bigints print as numbers. */
export type GoValue = null | boolean | number | bigint | string | GoValue[] | { [k: string]: GoValue };

/** Go's json.Marshal of such a value (HTML-safe string escapes included). */
export function marshal(v: GoValue): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') {
    return JSON.stringify(v).replace(
      /[<>&\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (Array.isArray(v)) return `[${v.map(marshal).join(',')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${marshal(k)}:${marshal(x)}`)
    .join(',')}}`;
}

type Obj = { [k: string]: GoValue };

/** Set `k` unless the value is Go's zero value (omitempty). */
function omitEmpty(o: Obj, k: string, v: GoValue | undefined): void {
  if (v === undefined || v === null || v === 0 || v === 0n || v === '' || v === false) return;
  if (Array.isArray(v) && v.length === 0) return;
  if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0 && k === 'raw') return;
  o[k] = v;
}

function memoryEntry(d: MemoryData): Obj {
  const o: Obj = { limit: d.limit };
  omitEmpty(o, 'usage', d.usage);
  omitEmpty(o, 'max', d.maxUsage);
  o.failcnt = d.failcnt;
  return o;
}

function blkioEntries(l: BlkioStatEntry[]): GoValue {
  return l.map((e) => {
    const o: Obj = {};
    omitEmpty(o, 'major', e.major);
    omitEmpty(o, 'minor', e.minor);
    omitEmpty(o, 'op', e.op);
    omitEmpty(o, 'value', e.value);
    return o;
  });
}

const sortedMap = <T>(m: Record<string, T>, f: (v: T) => GoValue): Obj =>
  Object.fromEntries(
    Object.entries(m)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, f(v)]),
  );

/** runc's convertLibcontainerStats, as a document in runc's field order. */
export function runcStats(s: Stats): Obj {
  const usage: Obj = {};
  omitEmpty(usage, 'total', s.cpu.usage.totalUsage);
  omitEmpty(usage, 'percpu', s.cpu.usage.percpuUsage);
  omitEmpty(usage, 'percpu_kernel', s.cpu.usage.percpuUsageInKernelmode);
  omitEmpty(usage, 'percpu_user', s.cpu.usage.percpuUsageInUsermode);
  usage.kernel = s.cpu.usage.usageInKernelmode;
  usage.user = s.cpu.usage.usageInUsermode;
  const throttling: Obj = {};
  omitEmpty(throttling, 'periods', s.cpu.throttling.periods);
  omitEmpty(throttling, 'throttledPeriods', s.cpu.throttling.throttledPeriods);
  omitEmpty(throttling, 'throttledTime', s.cpu.throttling.throttledTime);

  const c = s.cpuset;
  const cpuset: Obj = {};
  omitEmpty(cpuset, 'cpus', c.cpus);
  cpuset.cpu_exclusive = c.cpuExclusive;
  omitEmpty(cpuset, 'mems', c.mems);
  Object.assign(cpuset, {
    mem_hardwall: c.memHardwall,
    mem_exclusive: c.memExclusive,
    memory_migrate: c.memoryMigrate,
    memory_spread_page: c.memorySpreadPage,
    memory_spread_slab: c.memorySpreadSlab,
    memory_pressure: c.memoryPressure,
    sched_load_balance: c.schedLoadBalance,
    sched_relax_domain_level: c.schedRelaxDomainLevel,
  });

  const memory: Obj = {};
  omitEmpty(memory, 'cache', s.memory.cache);
  memory.usage = memoryEntry(s.memory.usage);
  memory.swap = memoryEntry(s.memory.swapUsage);
  memory.kernel = memoryEntry(s.memory.kernelUsage);
  memory.kernelTCP = memoryEntry(s.memory.kernelTCPUsage);
  omitEmpty(
    memory,
    'raw',
    sortedMap(s.memory.stats, (v) => v),
  );

  const pids: Obj = {};
  omitEmpty(pids, 'current', s.pids.current);
  omitEmpty(pids, 'limit', s.pids.limit);

  const b = s.blkio;
  const blkio: Obj = {};
  omitEmpty(blkio, 'ioServiceBytesRecursive', blkioEntries(b.ioServiceBytesRecursive));
  omitEmpty(blkio, 'ioServicedRecursive', blkioEntries(b.ioServicedRecursive));
  omitEmpty(blkio, 'ioQueueRecursive', blkioEntries(b.ioQueuedRecursive));
  omitEmpty(blkio, 'ioServiceTimeRecursive', blkioEntries(b.ioServiceTimeRecursive));
  omitEmpty(blkio, 'ioWaitTimeRecursive', blkioEntries(b.ioWaitTimeRecursive));
  omitEmpty(blkio, 'ioMergedRecursive', blkioEntries(b.ioMergedRecursive));
  omitEmpty(blkio, 'ioTimeRecursive', blkioEntries(b.ioTimeRecursive));
  omitEmpty(blkio, 'sectorsRecursive', blkioEntries(b.sectorsRecursive));

  const hugetlb = sortedMap(s.hugetlb, (h) => {
    const o: Obj = {};
    omitEmpty(o, 'usage', h.usage);
    omitEmpty(o, 'max', h.maxUsage);
    o.failcnt = h.failcnt;
    return o;
  });

  return {
    cpu: { usage, throttling },
    cpuset,
    memory,
    pids,
    blkio,
    hugetlb,
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** One event line: {"type":..,"id":..,"data":..} and a newline, as Go's json.Encoder writes it. */
export function eventLine(type: string, id: string, data?: GoValue): string {
  const e: Obj = { type, id };
  if (data !== undefined && data !== null) e.data = data;
  return marshal(e) + '\n';
}

/**
 * Call `onOom` at each OOM of the memory cgroup `dir` and `onGone` once the
 * cgroup is removed (or, on v2, has no process left). v1: an eventfd
 * registered on memory.oom_control through cgroup.event_control; v2:
 * memory.events (oom_kill) and cgroup.events (populated), polled.
 */
export function watchOom(dir: string, version: 1 | 2, onOom: () => void, onGone: () => void): () => void {
  if (version === 1) {
    const control = path.join(dir, 'cgroup.event_control');
    const oomFd = fs.openSync(path.join(dir, 'memory.oom_control'), 'r');
    const efd = eventfd();
    try {
      writeFile(dir, 'cgroup.event_control', `${efd} ${oomFd}`);
    } catch (e) {
      fs.closeSync(oomFd);
      fs.closeSync(efd);
      throw e;
    }
    let stopped = false;
    const buf = Buffer.alloc(8);
    const next = () => {
      fs.read(efd, buf, 0, 8, null, (err) => {
        if (stopped) return;
        // The kernel signals the eventfd when the cgroup goes away, too.
        if (err || !fs.existsSync(control)) {
          stopped = true;
          onGone();
          return;
        }
        onOom();
        next();
      });
    };
    next();
    return () => {
      stopped = true;
    };
  }
  let last = 0n;
  const read = () => {
    try {
      return getValueByKey(dir, 'memory.events', 'oom_kill');
    } catch {
      return undefined;
    }
  };
  last = read() ?? 0n;
  const timer = setInterval(() => {
    const n = read();
    const populated = readOptionalSafe(dir, 'cgroup.events');
    if (n === undefined || populated === undefined) {
      clearInterval(timer);
      onGone();
      return;
    }
    if (n > last) onOom();
    last = n;
    if (/^populated 0$/m.test(populated)) {
      clearInterval(timer);
      onGone();
    }
  }, 100);
  return () => clearInterval(timer);
}

function readOptionalSafe(dir: string, file: string): string | undefined {
  try {
    return readOptional(dir, file);
  } catch {
    return undefined;
  }
}

/** Go's time.ParseDuration, in milliseconds. */
export function parseGoDuration(s: string): number {
  const orig = s;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration ${JSON.stringify(orig)}`);
  const unit: Readonly<Partial<Record<string, number>>> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    μs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  let total = 0;
  const re = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) throw new Error(`time: invalid duration ${JSON.stringify(orig)}`);
    const [whole, amount = '', unitName = ''] = m;
    total += Number.parseFloat(amount) * (unit[unitName] ?? Number.NaN);
    s = s.slice(whole.length);
  }
  return neg ? -total : total;
}
