/** memory (v2): memory.max, memory.swap.max (swap alone, converted from memory+swap), memory.low. */
import {
  CgroupFileError,
  getU64,
  intStr,
  parseKeyValues,
  parseU64,
  readOptional,
  writeFile,
} from '../fsutil.js';
import { swapToV2 } from '../resources.js';
import type { MemoryData, Resources, Stats } from '../types.js';

const U64_MAX = (1n << 64n) - 1n;

const numToStr = (v: number): string => (v === 0 ? '' : v === -1 ? 'max' : intStr(v));

export function isMemorySet(r: Resources): boolean {
  return r.memoryReservation !== 0 || r.memory !== 0 || r.memorySwap !== 0;
}

export function setMemory(dir: string, r: Resources): void {
  if (!isMemorySet(r)) return;
  const swap = swapToV2(r.memorySwap, r.memory);
  let swapStr = numToStr(swap);
  if (swapStr === '' && swap === 0 && r.memorySwap > 0) swapStr = '0'; // memory+swap == memory: no swap
  if (swapStr !== '') writeFile(dir, 'memory.swap.max', swapStr);
  const mem = numToStr(r.memory);
  if (mem !== '') {
    if (r.checkBeforeUpdate && r.memory > 0) {
      const current = getU64(dir, 'memory.current');
      if (current > BigInt(intStr(r.memory))) {
        throw new Error(`rejecting memory limit ${mem} below the current usage ${current}`);
      }
    }
    writeFile(dir, 'memory.max', mem);
  }
  const low = numToStr(r.memoryReservation);
  if (low !== '') writeFile(dir, 'memory.low', low);
}

function data(dir: string, name: string): MemoryData {
  const mod = name ? `memory.${name}` : 'memory';
  const usage = readOptional(dir, `${mod}.current`);
  if (usage === undefined) {
    if (name) return { usage: 0n, maxUsage: 0n, failcnt: 0n, limit: 0n };
    throw new CgroupFileError(`open ${dir}/${mod}.current: no such file or directory`, 'ENOENT');
  }
  return { usage: parseU64(usage), maxUsage: 0n, failcnt: 0n, limit: getU64(dir, `${mod}.max`) };
}

export function statMemory(dir: string, s: Stats): void {
  const text = readOptional(dir, 'memory.stat');
  if (text === undefined) return;
  s.memory.cache = 0n;
  for (const [k, v] of parseKeyValues(text)) {
    s.memory.stats[k] = v;
    if (k === 'file') s.memory.cache = v;
  }
  s.memory.useHierarchy = true;
  const usage = data(dir, '');
  s.memory.usage = usage;
  // runc reports swap as memory+swap, as v1 does.
  const swap = data(dir, 'swap');
  swap.usage += usage.usage;
  if (swap.limit !== U64_MAX) swap.limit += usage.limit;
  s.memory.swapUsage = swap;
}
