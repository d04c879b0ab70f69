/** Namespaces: clone flags, setns and unshare. */
import fs from 'node:fs';
import { IOCTL } from './abi-x86_64.js';
import { DataType, libcFunction } from './libc.js';

export const CLONE = {
  NEWTIME: 0x80,
  FS: 0x200,
  NEWNS: 0x20000,
  NEWCGROUP: 0x2000000,
  NEWUTS: 0x4000000,
  NEWIPC: 0x8000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

/** runtime-spec namespace type → clone flag. */
export const NAMESPACE_FLAGS: Record<string, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

/** runtime-spec namespace type → name under /proc/<pid>/ns/. */
export const NAMESPACE_PROC_NAMES: Record<string, string> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  user: 'user',
  cgroup: 'cgroup',
  time: 'time',
};

const setnsCall = libcFunction('setns', DataType.I32, [DataType.I32, DataType.I32]);
const unshareCall = libcFunction('unshare', DataType.I32, [DataType.I32]);

export function setns(fd: number, nstype: number, subject?: string): void {
  setnsCall([fd, nstype], subject);
}

export function unshare(flags: number, subject?: string): void {
  unshareCall([flags], subject);
}

const ioctlCall = libcFunction('ioctl', DataType.I32, [DataType.I32, DataType.U64, DataType.I64]);

/** The CLONE_NEW* type of the namespace file at `path` (ioctl NS_GET_NSTYPE). */
export function namespaceTypeOf(path: string): number {
  const fd = fs.openSync(path, fs.constants.O_RDONLY);
  try {
    return ioctlCall([fd, IOCTL.NS_GET_NSTYPE, 0], path);
  } finally {
    fs.closeSync(fd);
  }
}
