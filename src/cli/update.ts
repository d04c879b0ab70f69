/**
 * `runts update [flags] <id>`: change the limits of a running container, as
 * runc 1.1 does: the values come from --resources FILE|- as a
 * linux.resources JSON, else from the flags; container/update.ts merges
 * them into the container's config, writes them and sets them back on
 * failure.
 */
import fs from 'node:fs';
import { UserError } from '../errors.js';
import { StateStore } from '../container/state-store.js';
import {
  emptyUpdate,
  updateContainer,
  updateFromResourcesJson,
  type ResourceUpdate,
} from '../container/update.js';
import { containerId, type CommandContext } from './context.js';
import type { UpdateOptions } from './commands.js';

const UNITS: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** go-units RAMInBytes: "512m", "1.5g", "1024", "2GiB" (binary multiples). */
function ramInBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) throw new Error(`invalid size: '${s}'`);
  const [, digits = '', unit] = m;
  const size = Number.parseFloat(digits);
  return Math.trunc(size * (unit ? (UNITS[unit.toLowerCase()] ?? 1) : 1));
}

type UpdateFlag = keyof UpdateOptions;

/** The settings from the flags (runc parses each as Go's flag package would). */
function fromFlags(flags: UpdateOptions): ResourceUpdate {
  const u = emptyUpdate();
  const str = (name: UpdateFlag) => {
    const v = flags[name];
    return v !== undefined && v !== '' ? v : undefined;
  };
  const int = (name: UpdateFlag, flag: string) => {
    const v = str(name);
    if (v === undefined) return 0;
    if (!/^[-+]?\d+$/.test(v)) throw new UserError(`invalid value "${v}" for flag -${flag}: parse error`);
    return Number(v);
  };
  const blkio = int('blkioWeight', 'blkio-weight');
  if (blkio !== 0) u.blockIO.weight = blkio;
  u.cpu.cpus = str('cpusetCpus') ?? u.cpu.cpus;
  u.cpu.mems = str('cpusetMems') ?? u.cpu.mems;
  const unsigned: Array<[UpdateFlag, string, 'period' | 'realtimePeriod' | 'shares']> = [
    ['cpuPeriod', 'cpu-period', 'period'],
    ['cpuRtPeriod', 'cpu-rt-period', 'realtimePeriod'],
    ['cpuShare', 'cpu-share', 'shares'],
  ];
  for (const [name, opt, key] of unsigned) {
    const v = str(name);
    if (v === undefined) continue;
    if (!/^\d+$/.test(v))
      throw new UserError(
        `invalid value for ${opt}: strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`,
      );
    u.cpu[key] = Number(v);
  }
  const signed: Array<[UpdateFlag, string, 'quota' | 'realtimeRuntime']> = [
    ['cpuQuota', 'cpu-quota', 'quota'],
    ['cpuRtRuntime', 'cpu-rt-runtime', 'realtimeRuntime'],
  ];
  for (const [name, opt, key] of signed) {
    const v = str(name);
    if (v === undefined) continue;
    if (!/^[-+]?\d+$/.test(v))
      throw new UserError(
        `invalid value for ${opt}: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`,
      );
    u.cpu[key] = Number(v);
  }
  const burst = str('cpuBurst');
  if (burst !== undefined) {
    const v = burst;
    if (!/^\d+$/.test(v))
      throw new UserError(
        `invalid value for cpu-burst: strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`,
      );
    u.cpu.burst = Number(v);
  }
  const mem: Array<[UpdateFlag, string, keyof ResourceUpdate['memory']]> = [
    ['memory', 'memory', 'limit'],
    ['memorySwap', 'memory-swap', 'swap'],
    ['kernelMemory', 'kernel-memory', 'kernel'],
    ['kernelMemoryTcp', 'kernel-memory-tcp', 'kernelTCP'],
    ['memoryReservation', 'memory-reservation', 'reservation'],
  ];
  for (const [name, opt, key] of mem) {
    const v = str(name);
    if (v === undefined) continue;
    try {
      u.memory[key] = v === '-1' ? -1 : ramInBytes(v);
    } catch (e) {
      throw new UserError(`invalid value for ${opt}: ${(e as Error).message}`);
    }
  }
  u.pids.limit = int('pidsLimit', 'pids-limit');
  return u;
}

export function run(ctx: CommandContext<UpdateOptions>): number {
  const input = ctx.options.resources;
  updateContainer(new StateStore(ctx.globals.root), containerId(ctx), {
    settings: () =>
      input !== undefined && input !== ''
        ? updateFromResourcesJson(readResources(input))
        : fromFlags(ctx.options),
    l3CacheSchema: ctx.options.l3CacheSchema,
    memBwSchema: ctx.options.memBwSchema,
    warn: (msg) => {
      ctx.log.warn(msg);
    },
  });
  return 0;
}

/** The --resources document: a file, or '-' for stdin. */
function readResources(input: string): string {
  try {
    return fs.readFileSync(input === '-' ? 0 : input, 'utf8');
  } catch (e) {
    throw new UserError(
      `open ${input}: ${((e as Error).message.split(', ')[0] ?? '').replace(/^[A-Z]+: /, '')}`,
    );
  }
}
