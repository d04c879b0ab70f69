/**
 * Per-thread execution attributes the container's process inherits across
 * execve: execution domain (personality), scheduling policy
 * (sched_setattr), I/O priority (ioprio_set) and CPU affinity. Each applies
 * to the calling thread, Node's main thread, which is the one that execs.
 */
import { DataType, libcFunction } from './libc.js';
import { SCHED_ATTR } from './abi-x86_64.js';
import { NativeBlock } from './memory.js';
import { namedSyscall } from './syscall.js';

const I64 = DataType.I64;
const schedSetattrCall = namedSyscall('sched_setattr', [I64, I64, I64]);
const ioprioSetCall = namedSyscall('ioprio_set', [I64, I64, I64]);
const personalityCall = libcFunction('personality', DataType.I32, [DataType.U64]);
const setaffinityCall = libcFunction('sched_setaffinity', DataType.I32, [DataType.I32, I64, I64]);
const getaffinityCall = libcFunction('sched_getaffinity', DataType.I32, [DataType.I32, I64, I64]);

/** Execution domains of the runtime-spec (linux.personality.domain). */
export const PERSONALITY = { LINUX: 0x0000, LINUX32: 0x0008 } as const;

/** personality(2): set the execution domain; returns the previous persona. */
export function setPersonality(persona: number): number {
  return personalityCall([persona], `persona 0x${persona.toString(16)}`);
}

export const SCHED_POLICY: Record<string, number> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};

export const SCHED_FLAG: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

export interface SchedAttr {
  policy: number;
  flags: number;
  nice: number;
  priority: number;
  /** Nanoseconds (SCHED_DEADLINE). */
  runtime: bigint;
  deadline: bigint;
  period: bigint;
}

/** sched_setattr(2) for the calling thread (struct sched_attr, SCHED_ATTR_SIZE_VER1 = 56 bytes, no utilization clamps). */
export function schedSetattr(a: SchedAttr): void {
  const b = new NativeBlock(64);
  const v = b.view;
  v.writeUInt32LE(SCHED_ATTR.SIZE, 0);
  v.writeUInt32LE(a.policy, SCHED_ATTR.POLICY);
  v.writeBigUInt64LE(BigInt(a.flags), SCHED_ATTR.FLAGS);
  v.writeInt32LE(a.nice, SCHED_ATTR.NICE);
  v.writeUInt32LE(a.priority, SCHED_ATTR.PRIORITY);
  v.writeBigUInt64LE(a.runtime, SCHED_ATTR.RUNTIME);
  v.writeBigUInt64LE(a.deadline, SCHED_ATTR.DEADLINE);
  v.writeBigUInt64LE(a.period, SCHED_ATTR.PERIOD);
  schedSetattrCall([0, Number(b.address), 0], 'scheduler');
}

export const IOPRIO_CLASS: Record<string, number> = {
  IOPRIO_CLASS_RT: 1,
  IOPRIO_CLASS_BE: 2,
  IOPRIO_CLASS_IDLE: 3,
};
const IOPRIO_WHO_PROCESS = 1;
const IOPRIO_CLASS_SHIFT = 13;

/** ioprio_set(IOPRIO_WHO_PROCESS, 0, class << 13 | level) for the calling thread. */
export function ioprioSet(ioClass: number, level: number): void {
  ioprioSetCall([IOPRIO_WHO_PROCESS, 0, (ioClass << IOPRIO_CLASS_SHIFT) | level], 'I/O priority');
}

/** Parse a CPU list such as "0-3,7" (the kernel's cpulist format). */
export function parseCpuList(list: string): number[] {
  const cpus = new Set<number>();
  for (const part of list.split(',').map((s) => s.trim())) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`invalid CPU list ${JSON.stringify(list)}`);
    const lo = Number(m.at(1));
    const last = m.at(2);
    const hi = last === undefined ? lo : Number(last);
    if (hi < lo || hi >= 8192)
      throw new Error(`invalid CPU range ${JSON.stringify(part)} in ${JSON.stringify(list)}`);
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return [...cpus].sort((x, y) => x - y);
}

const MASK_BYTES = 1024; // 8192 CPUs

/** sched_setaffinity(2): pin thread `tid` (0: the calling thread) to `cpus`. */
export function setAffinity(tid: number, cpus: number[]): void {
  const b = new NativeBlock(MASK_BYTES);
  for (const c of cpus) b.view.writeUInt8(b.view.readUInt8(c >> 3) | (1 << (c & 7)), c >> 3);
  setaffinityCall([tid, MASK_BYTES, Number(b.address)], `CPUs ${cpus.join(',')}`);
}

/** sched_getaffinity(2) of thread `tid` (0: the calling thread). */
export function getAffinity(tid = 0): number[] {
  const b = new NativeBlock(MASK_BYTES);
  getaffinityCall([tid, MASK_BYTES, Number(b.address)], 'affinity');
  const cpus: number[] = [];
  for (let c = 0; c < MASK_BYTES * 8; c++) if (b.view.readUInt8(c >> 3) & (1 << (c & 7))) cpus.push(c);
  return cpus;
}
