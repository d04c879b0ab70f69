/** File-descriptor flags and ranges: what survives execve. */
// Node (libuv) opens every file with O_CLOEXEC: fds reach the container only when runts clears the flag.
import { DataType, libcFunction } from './libc.js';

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;
const CLOSE_RANGE_CLOEXEC = 1 << 2;

const fcntl = libcFunction('fcntl', DataType.I32, [DataType.I32, DataType.I32, DataType.I32]);
const closeRangeCall = libcFunction('close_range', DataType.I32, [DataType.U32, DataType.U32, DataType.I32]);
const dup3Call = libcFunction('dup3', DataType.I32, [DataType.I32, DataType.I32, DataType.I32]);

export function setCloexec(fd: number, on: boolean): void {
  const flags = fcntl([fd, F_GETFD, 0], `fd ${fd}`);
  fcntl([fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC], `fd ${fd}`);
}

/** Mark every fd from `first` up close-on-exec (nothing of ours leaks into the container). */
export function cloexecFrom(first: number): void {
  closeRangeCall([first, 0xffffffff, CLOSE_RANGE_CLOEXEC], `fds ${first}..`);
}

export function dup3(oldFd: number, newFd: number, cloexec = false): void {
  dup3Call([oldFd, newFd, cloexec ? 0o2000000 : 0], `fd ${oldFd} to ${newFd}`);
}
