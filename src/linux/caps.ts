/**
 * Capabilities: the five sets of a thread. capset applies to the calling
 * thread only, which is the thread that calls execve (Node's main thread).
 */
import fs from 'node:fs';
import { DataType, libcFunction } from './libc.js';
import { NativeBlock } from './memory.js';
import { PR, prctl } from './prctl.js';

export const CAPABILITY_NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

let cachedLastCap: number | undefined;
/** The highest capability number the running kernel knows (read once: it is asked in loops). */
export function lastCap(): number {
  if (cachedLastCap !== undefined) return cachedLastCap;
  try {
    cachedLastCap = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    cachedLastCap = CAPABILITY_NAMES.length - 1;
  }
  return cachedLastCap;
}

/** Capability names the running kernel supports. */
export function kernelCapabilities(): string[] {
  return CAPABILITY_NAMES.slice(0, lastCap() + 1);
}

export function capNumber(name: string): number | undefined {
  const i = (CAPABILITY_NAMES as readonly string[]).indexOf(name);
  return i < 0 ? undefined : i;
}

const capsetCall = libcFunction('capset', DataType.I32, [DataType.I64, DataType.I64]);
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

function mask(caps: number[]): bigint {
  return caps.reduce((m, c) => m | (1n << BigInt(c)), 0n);
}

export interface CapSets {
  effective: number[];
  permitted: number[];
  inheritable: number[];
}

/** capset(2) for the calling thread. */
export function capset(sets: CapSets): void {
  const b = new NativeBlock(64);
  const hdr = b.alloc(8);
  const data = b.alloc(24);
  b.view.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, hdr.offset);
  b.view.writeInt32LE(0, hdr.offset + 4);
  const e = mask(sets.effective);
  const p = mask(sets.permitted);
  const i = mask(sets.inheritable);
  for (let word = 0; word < 2; word++) {
    const shift = BigInt(32 * word);
    const off = data.offset + 12 * word;
    b.view.writeUInt32LE(Number((e >> shift) & 0xffffffffn), off);
    b.view.writeUInt32LE(Number((p >> shift) & 0xffffffffn), off + 4);
    b.view.writeUInt32LE(Number((i >> shift) & 0xffffffffn), off + 8);
  }
  capsetCall([Number(hdr.address), Number(data.address)], 'capabilities');
}

/** Drop from the bounding set every capability not in `keep`. */
export function limitBoundingSet(keep: number[]): void {
  const k = new Set(keep);
  for (let c = 0; c <= lastCap(); c++) {
    if (!k.has(c)) prctl(PR.CAPBSET_DROP, c, 0, `drop ${CAPABILITY_NAMES[c] ?? c} from bounding set`);
  }
}

/**
 * Raise the ambient set. The kernel refuses (EPERM) a capability that is not
 * both permitted and inheritable; runc ignores that, and so do we.
 */
export function setAmbient(caps: number[]): void {
  prctl(PR.CAP_AMBIENT, PR.CAP_AMBIENT_CLEAR_ALL, 0, 'clear ambient capabilities');
  for (const c of caps) {
    try {
      prctl(PR.CAP_AMBIENT, PR.CAP_AMBIENT_RAISE, c, `raise ambient ${CAPABILITY_NAMES[c] ?? c}`);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EPERM') throw e;
    }
  }
}

/** The calling thread's capability bounding set (PR_CAPBSET_READ for each capability the kernel knows). */
export function boundingSet(): number[] {
  const out: number[] = [];
  for (let c = 0; c <= lastCap(); c++)
    if (prctl(PR.CAPBSET_READ, c, 0, `read ${CAPABILITY_NAMES[c] ?? c} from bounding set`) === 1) out.push(c);
  return out;
}
