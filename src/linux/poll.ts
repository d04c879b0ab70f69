/** poll(2) and pidfd_open(2): waiting for an fd to become readable or a process to end, without polling in JS. */
import { errnoOf } from './errno.js';
import { DataType, libcFunction } from './libc.js';
import { namedSyscall } from './syscall.js';

const { I32, I64, U8Array } = DataType;
const POLLIN = 0x1;

const pollCall = libcFunction('poll', I32, [U8Array, I32, I32]);
const pidfdOpenCall = namedSyscall('pidfd_open', [I64, I64]);

/**
 * Wait until one of `fds` is readable (or hung up), at most `timeoutMs`
 * (-1: no limit). Returns whether one is; an interrupted wait counts as not.
 */
export function waitReadable(fds: number[], timeoutMs: number): boolean {
  // struct pollfd { int fd; short events; short revents; }: the result needs only the count.
  const buf = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, i) => {
    buf.writeInt32LE(fd, 8 * i);
    buf.writeInt16LE(POLLIN, 8 * i + 4);
  });
  try {
    return pollCall([buf, fds.length, timeoutMs], 'poll') > 0;
  } catch (e) {
    if (errnoOf(e) === 'EINTR') return false;
    throw e;
  }
}

/** A pidfd for `pid` (readable once the process has ended), or undefined where the kernel has none (before 5.3) or the process is gone. */
export function pidfdOpen(pid: number): number | undefined {
  try {
    return pidfdOpenCall([pid, 0], 'pidfd_open');
  } catch {
    return undefined;
  }
}
