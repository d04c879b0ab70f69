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
