/** memory (v1): limit and memory+swap in the order the kernel accepts, and the rest of runc's knobs. */
import path from 'node:path';
import {
  CgroupFileError,
  exists,
  getU64,
  NotMountedError,
  readFile,
  readOptional,
  writeFile,
  intStr,
  parseKeyValues,
  parseU64,
} from '../fsutil.js';
import type { MemoryData, Resources, Stats } from '../types.js';
import { join, type Subsystem } from './subsystem.js';
import { warn } from '../../output.js';
import { errnoOf } from '../../linux/errno.js';

const LIMIT = 'memory.limit_in_bytes';
const SWAP_LIMIT = 'memory.memsw.limit_in_bytes';

function setMemory(dir: string | undefined, val: number): void {
  if (val === 0) return;
  try {
    writeFile(dir, LIMIT, intStr(val));
  } catch (e) {
    if (dir === undefined || errnoOf(e) !== 'EBUSY') throw e;
    const usage = getU64(dir, 'memory.usage_in_bytes');
    const max = getU64(dir, 'memory.max_usage_in_bytes');
    throw new Error(
      `unable to set memory limit to ${intStr(val)} (current usage: ${usage}, peak usage: ${max})`,
      { cause: e },
    );
  }
}

function setSwap(dir: string | undefined, val: number): void {
  if (val === 0) return;
  writeFile(dir, SWAP_LIMIT, intStr(val));
}

/** runc's setMemoryAndSwap: raise memsw first when growing, memory first when shrinking. */
function setMemoryAndSwap(dir: string | undefined, r: Resources): void {
  let swap = r.memorySwap;
  // "Memory unlimited" means swap unlimited too, when the kernel accounts swap.
  if (r.memory === -1 && swap === 0 && dir && exists(path.join(dir, SWAP_LIMIT))) swap = -1;
  if (r.memory !== 0 && swap !== 0) {
    if (dir === undefined) throw new NotMountedError(LIMIT);
    const cur = getU64(dir, LIMIT);
    if (swap === -1 || cur < BigInt(intStr(swap))) {
      setSwap(dir, swap);
      setMemory(dir, r.memory);
      return;
    }
  }
  setMemory(dir, r.memory);
  setSwap(dir, swap);
}

function setV1(dir: string | undefined, r: Resources): void {
  setMemoryAndSwap(dir, r);
  if (r.kernelMemory !== 0) {
    // Deprecated by the kernel (ignored or refused since 5.x): try, never fail on it.
    try {
      writeFile(dir, 'memory.kmem.limit_in_bytes', intStr(r.kernelMemory));
    } catch (e) {
      warn(`kernel memory limit not set: ${(e as Error).message}`);
    }
  }
  if (r.kernelMemoryTCP !== 0) writeFile(dir, 'memory.kmem.tcp.limit_in_bytes', intStr(r.kernelMemoryTCP));
  if (r.memoryReservation !== 0) writeFile(dir, 'memory.soft_limit_in_bytes', intStr(r.memoryReservation));
  if (r.oomKillDisable) writeFile(dir, 'memory.oom_control', '1');
  if (r.memorySwappiness !== undefined && r.memorySwappiness !== -1) {
    if (r.memorySwappiness < 0 || r.memorySwappiness > 100) {
      throw new Error(`invalid memory swappiness value: ${r.memorySwappiness} (valid range is 0-100)`);
    }
    writeFile(dir, 'memory.swappiness', intStr(r.memorySwappiness));
  }
  if (r.useHierarchy !== undefined) {
    try {
      writeFile(dir, 'memory.use_hierarchy', r.useHierarchy ? '1' : '0');
    } catch (e) {
      // Kernels since 5.16 are always hierarchical and refuse 0.
      if (r.useHierarchy) throw e;
      warn(`memory.use_hierarchy: ${(e as Error).message}`);
    }
  }
}

function memoryData(dir: string, name: string): MemoryData {
  const mod = name ? `memory.${name}` : 'memory';
  const usage = readOptional(dir, `${mod}.usage_in_bytes`);
  if (usage === undefined) {
    if (name) return { usage: 0n, maxUsage: 0n, failcnt: 0n, limit: 0n };
    throw new CgroupFileError(
      `open ${path.join(dir, `${mod}.usage_in_bytes`)}: no such file or directory`,
      'ENOENT',
    );
  }
  return {
    usage: parseU64(usage),
    maxUsage: getU64(dir, `${mod}.max_usage_in_bytes`),
    failcnt: getU64(dir, `${mod}.failcnt`),
    limit: getU64(dir, `${mod}.limit_in_bytes`),
  };
}

export const memory: Subsystem = {
  name: 'memory',
  apply: (dir, _r, pid) => join(dir, pid),
  set: setV1,
  stats(dir, s: Stats) {
    const text = readOptional(dir, 'memory.stat');
    if (text === undefined) return;
    s.memory.cache = 0n;
    for (const [k, v] of parseKeyValues(text)) {
      s.memory.stats[k] = v;
      if (k === 'cache') s.memory.cache = v;
    }
    s.memory.usage = memoryData(dir, '');
    s.memory.swapUsage = memoryData(dir, 'memsw');
    s.memory.kernelUsage = memoryData(dir, 'kmem');
    s.memory.kernelTCPUsage = memoryData(dir, 'kmem.tcp');
    s.memory.useHierarchy = readFile(dir, 'memory.use_hierarchy').trim() === '1';
  },
};
