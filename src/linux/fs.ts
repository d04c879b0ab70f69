/** File-system calls Node does not offer. */
import { DataType, libcFunction } from './libc.js';

const mkfifoCall = libcFunction('mkfifo', DataType.I32, [DataType.String, DataType.U32]);

export function mkfifo(path: string, mode: number): void {
  mkfifoCall([path, mode], path);
}
