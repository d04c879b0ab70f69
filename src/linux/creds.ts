/**
 * Process credentials. glibc applies set*id and setgroups to every thread
 * of the process (Node's threads too), so the execve'd program gets them.
 */
import { DataType, libcFunction } from './libc.js';
import { NativeBlock } from './memory.js';

const setresuidCall = libcFunction('setresuid', DataType.I32, [DataType.U32, DataType.U32, DataType.U32]);
const setresgidCall = libcFunction('setresgid', DataType.I32, [DataType.U32, DataType.U32, DataType.U32]);
const setgroupsCall = libcFunction('setgroups', DataType.I32, [DataType.I64, DataType.I64]);

export function setresuid(uid: number): void {
  setresuidCall([uid, uid, uid], `uid ${uid}`);
}

export function setresgid(gid: number): void {
  setresgidCall([gid, gid, gid], `gid ${gid}`);
}

export function setgroups(gids: number[]): void {
  const b = new NativeBlock(Math.max(16, 4 * gids.length));
  const arr = b.alloc(4 * gids.length);
  gids.forEach((g, i) => b.view.writeUInt32LE(g, arr.offset + 4 * i));
  setgroupsCall([gids.length, Number(arr.address)], `groups ${gids.join(',')}`);
}

const getresuidCall = libcFunction('getresuid', DataType.I32, [DataType.I64, DataType.I64, DataType.I64]);
const getresgidCall = libcFunction('getresgid', DataType.I32, [DataType.I64, DataType.I64, DataType.I64]);
const getgroupsCall = libcFunction('getgroups', DataType.I32, [DataType.I32, DataType.I64]);

export interface Identity {
  /** Real, effective and saved user ids. */
  uids: [number, number, number];
  gids: [number, number, number];
  /** Supplementary groups, in the kernel's (sorted) order. */
  groups: number[];
}

/** The calling thread's ids as the kernel holds them. */
export function currentIdentity(): Identity {
  const b = new NativeBlock(64);
  const ids = b.alloc(24);
  const read3 = (off: number): [number, number, number] =>
    [0, 4, 8].map((o) => b.view.readUInt32LE(ids.offset + off + o)) as [number, number, number];
  getresuidCall([Number(ids.address), Number(ids.address + 4n), Number(ids.address + 8n)], 'getresuid');
  getresgidCall(
    [Number(ids.address + 12n), Number(ids.address + 16n), Number(ids.address + 20n)],
    'getresgid',
  );
  const n = getgroupsCall([0, 0], 'getgroups');
  const g = new NativeBlock(Math.max(16, 4 * n));
  const arr = g.alloc(4 * n);
  const m = getgroupsCall([n, Number(arr.address)], 'getgroups');
  const groups = Array.from({ length: m }, (_, i) => g.view.readUInt32LE(arr.offset + 4 * i));
  return { uids: read3(0), gids: read3(12), groups };
}
