/**
 * System calls glibc has no wrapper for, called by name through syscall(2)
 * with the number from the ABI table.
 */
import { SYSCALL, type SyscallName } from './abi-x86_64.js';
import { rawSyscall, type CFunction, type CType } from './libc.js';

/**
 * Declare the system call `name` with the types of its arguments. The
 * returned function takes the arguments (without the number) and throws a
 * SyscallError named after the system call when it returns -1.
 */
export function namedSyscall(name: SyscallName, paramsType: readonly CType[]): CFunction<number> {
  return rawSyscall(name, SYSCALL[name], paramsType);
}
