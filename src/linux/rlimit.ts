/** Resource limits (setrlimit on the calling process). */
import { DataType, libcFunction } from './libc.js';
import { NativeBlock } from './memory.js';

export const RLIMITS: Readonly<Partial<Record<string, number>>> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

const prlimitCall = libcFunction('prlimit', DataType.I32, [
  DataType.I32,
  DataType.I32,
  DataType.I64,
  DataType.I64,
]);

export function setrlimit(type: string, soft: bigint, hard: bigint): void {
  const resource = RLIMITS[type];
  if (resource === undefined) throw new Error(`unknown rlimit ${type}`);
  const b = new NativeBlock(32);
  const lim = b.alloc(16);
  b.view.writeBigUInt64LE(BigInt.asUintN(64, soft), lim.offset);
  b.view.writeBigUInt64LE(BigInt.asUintN(64, hard), lim.offset + 8);
  prlimitCall([0, resource, Number(lim.address), 0], `${type} ${soft}:${hard}`);
}

/** The calling process's [soft, hard] limit of `type`. */
export function getrlimit(type: string): [bigint, bigint] {
  const resource = RLIMITS[type];
  if (resource === undefined) throw new Error(`unknown rlimit ${type}`);
  const b = new NativeBlock(32);
  const lim = b.alloc(16);
  prlimitCall([0, resource, 0, Number(lim.address)], type);
  return [b.view.readBigUInt64LE(lim.offset), b.view.readBigUInt64LE(lim.offset + 8)];
}

/**
 * setrlimit calls made ready now (their memory and the C binding) and run
 * later by the returned function, which then allocates nothing: for limits
 * such as RLIMIT_AS that the calling Node process itself already exceeds.
 */
export function preparedRlimits(list: Array<{ type: string; soft: bigint; hard: bigint }>): () => void {
  const b = new NativeBlock(Math.max(32, 16 * list.length + 16));
  const calls = list.map((r) => {
    const resource = RLIMITS[r.type];
    if (resource === undefined) throw new Error(`unknown rlimit ${r.type}`);
    const lim = b.alloc(16);
    b.view.writeBigUInt64LE(BigInt.asUintN(64, r.soft), lim.offset);
    b.view.writeBigUInt64LE(BigInt.asUintN(64, r.hard), lim.offset + 8);
    return { args: [0, resource, Number(lim.address), 0], subject: `${r.type} ${r.soft}:${r.hard}` };
  });
  prlimitCall.define();
  return () => {
    for (const c of calls) prlimitCall(c.args, c.subject);
  };
}
