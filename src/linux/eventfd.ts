/** eventfd(2): the cgroup v1 memory controller signals OOM through one. */
import { DataType, libcFunction } from './libc.js';

export const EFD_CLOEXEC = 0o2000000;

const eventfdCall = libcFunction('eventfd', DataType.I32, [DataType.U32, DataType.I32]);

/** A new eventfd (close-on-exec); read 8 bytes from it to wait for a count. */
export function eventfd(initval = 0, flags = EFD_CLOEXEC): number {
  return eventfdCall([initval, flags], 'eventfd');
}
