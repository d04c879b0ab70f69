/**
 * `runts update [flags] <id>`: change the limits of a running container, as
 * runc 1.1 does: the values given (from --resources FILE|- as a
 * linux.resources JSON, else from the flags) replace the memory, cpu,
 * blkio weight, pids and unified settings of the container's config (a value
 * not given becomes 0, "leave as is"); the whole set is written again
 * (devices untouched) and kept in the container's record for later updates.
 */
import { parseJson } from '../json.js';
import fs from 'node:fs';
import { UserError } from '../errors.js';
import { StateStore } from '../container/state-store.js';
import { containerStatus } from '../container/status.js';
import { loadManager, resourcesFromSpec } from '../cgroups/index.js';
import { sharesToWeight } from '../cgroups/resources.js';
import type { LinuxResources, Spec } from '../spec/types.gen.js';
import type { CommandContext } from './context.js';

/** go-units RAMInBytes: "512m", "1.5g", "1024", "2GiB" (binary multiples). */
export function ramInBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) throw new Error(`invalid size: '${s}'`);
  const mult: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
  const size = Number.parseFloat(m[1]);
  return Math.trunc(size * (m[2] ? mult[m[2].toLowerCase()] : 1));
}

interface Update {
  memory: { limit: number; reservation: number; swap: number; kernel: number; kernelTCP: number };
  cpu: { shares: number; quota: number; period: number; realtimeRuntime: number; realtimePeriod: number; cpus: string; mems: string; burst?: number; idle?: number };
  blockIO: { weight: number };
  pids: { limit: number };
  unified?: Record<string, string>;
}

function defaults(): Update {
  return {
    memory: { limit: 0, reservation: 0, swap: 0, kernel: 0, kernelTCP: 0 },
    cpu: { shares: 0, quota: 0, period: 0, realtimeRuntime: 0, realtimePeriod: 0, cpus: '', mems: '' },
    blockIO: { weight: 0 },
    pids: { limit: 0 },
  };
}

/** Decode a linux.resources document over the defaults (as Go decodes into pre-filled structs). */
function fromJson(text: string): Update {
  let doc: LinuxResources;
  try {
    // Exact 64-bit integers, as config.json (memory limits past 2^53 stay exact).
    doc = parseJson(text).value as LinuxResources;
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const u = defaults();
  if (doc === null || typeof doc !== 'object') return u;
  Object.assign(u.memory, doc.memory ?? {});
  Object.assign(u.cpu, doc.cpu ?? {});
  Object.assign(u.blockIO, doc.blockIO ?? {});
  Object.assign(u.pids, doc.pids ?? {});
  if (doc.unified) u.unified = doc.unified as Record<string, string>;
  return u;
}

function fromFlags(flags: CommandContext['flags']): Update {
  const u = defaults();
  const str = (name: string) => {
    const v = flags[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const int = (name: string) => {
    const v = str(name);
    if (v === undefined) return 0;
    if (!/^[-+]?\d+$/.test(v)) throw new UserError(`invalid value "${v}" for flag -${name}: parse error`);
    return Number(v);
  };
  const blkio = int('blkio-weight');
  if (blkio !== 0) u.blockIO.weight = blkio;
  if (str('cpuset-cpus')) u.cpu.cpus = str('cpuset-cpus')!;
  if (str('cpuset-mems')) u.cpu.mems = str('cpuset-mems')!;
  const unsigned: Array<[string, 'period' | 'realtimePeriod' | 'shares']> = [['cpu-period', 'period'], ['cpu-rt-period', 'realtimePeriod'], ['cpu-share', 'shares']];
  for (const [opt, key] of unsigned) {
    const v = str(opt);
    if (v === undefined) continue;
    if (!/^\d+$/.test(v)) throw new UserError(`invalid value for ${opt}: strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`);
    u.cpu[key] = Number(v);
  }
  const signed: Array<[string, 'quota' | 'realtimeRuntime']> = [['cpu-quota', 'quota'], ['cpu-rt-runtime', 'realtimeRuntime']];
  for (const [opt, key] of signed) {
    const v = str(opt);
    if (v === undefined) continue;
    if (!/^[-+]?\d+$/.test(v)) throw new UserError(`invalid value for ${opt}: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
    u.cpu[key] = Number(v);
  }
  if (str('cpu-burst') !== undefined) {
    const v = str('cpu-burst')!;
    if (!/^\d+$/.test(v)) throw new UserError(`invalid value for cpu-burst: strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`);
    u.cpu.burst = Number(v);
  }
  const mem: Array<[string, keyof Update['memory']]> = [
    ['memory', 'limit'], ['memory-swap', 'swap'], ['kernel-memory', 'kernel'], ['kernel-memory-tcp', 'kernelTCP'], ['memory-reservation', 'reservation'],
  ];
  for (const [opt, key] of mem) {
    const v = str(opt);
    if (v === undefined) continue;
    try {
      u.memory[key] = v === '-1' ? -1 : ramInBytes(v);
    } catch (e) {
      throw new UserError(`invalid value for ${opt}: ${(e as Error).message}`);
    }
  }
  u.pids.limit = int('pids-limit');
  return u;
}

export function run(ctx: CommandContext): number {
  const store = new StateStore(ctx.globals.root);
  const id = ctx.args[0];
  const lock = store.lock(id);
  try {
    const rec = store.read(id);
    let u: Update;
    const input = ctx.flags.resources;
    if (typeof input === 'string' && input !== '') {
      let text: string;
      try {
        text = fs.readFileSync(input === '-' ? 0 : input, 'utf8');
      } catch (e) {
        throw new UserError(`open ${input}: ${((e as Error).message.split(', ')[0] ?? '').replace(/^[A-Z]+: /, '')}`);
      }
      u = fromJson(text);
    } else {
      u = fromFlags(ctx.flags);
    }
    if (u.memory.kernel !== 0 || u.memory.kernelTCP !== 0) ctx.log.warn('Kernel memory settings are ignored and will be removed');
    if (ctx.flags['l3-cache-schema']) throw new UserError('Intel RDT/CAT: l3 cache schema is not enabled');
    if (ctx.flags['mem-bw-schema']) throw new UserError('Intel RDT/MBA: memory bandwidth schema is not enabled');

    if (containerStatus(store, rec) === 'stopped') throw new UserError('container not running');
    const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
    if (!cgroup) throw new UserError('container has no cgroups to update');

    const spec = rec.config as Spec;
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
    next.unified = u.unified;
    // Kernel memory (ignored), swappiness and the rest are not re-applied on update.
    next.kernelMemory = 0;
    next.kernelMemoryTCP = 0;

    try {
      cgroup.set(next);
    } catch (e) {
      try {
        cgroup.set(old);
      } catch (e2) {
        ctx.log.warn(`Setting back cgroup configs failed due to error: ${(e2 as Error).message}, your state.json and actual configs might be inconsistent.`);
      }
      throw new UserError((e as Error).message);
    }

    // Keep what was set, in the config's own terms, for the next update.
    const linux = (spec.linux ??= {});
    const res: LinuxResources = (linux.resources ??= {});
    res.memory = { ...res.memory, limit: next.memory, reservation: next.memoryReservation, swap: next.memorySwap };
    res.cpu = {
      ...res.cpu, shares: next.cpuShares, quota: next.cpuQuota, period: next.cpuPeriod, realtimeRuntime: next.cpuRtRuntime,
      realtimePeriod: next.cpuRtPeriod, cpus: next.cpusetCpus, mems: next.cpusetMems,
    };
    if (next.cpuBurst !== undefined) res.cpu.burst = next.cpuBurst;
    if (next.cpuIdle !== undefined) res.cpu.idle = next.cpuIdle;
    res.blockIO = { ...res.blockIO, weight: next.blkioWeight };
    res.pids = { limit: next.pidsLimit };
    if (next.unified) res.unified = next.unified;
    else delete res.unified;
    store.write(rec);
    return 0;
  } finally {
    lock.release();
  }
}
