/** prctl(2) operations runts needs. */
import { DataType, libcFunction } from './libc.js';

export const PR = {
  SET_PDEATHSIG: 1,
  GET_PDEATHSIG: 2,
  SET_DUMPABLE: 4,
  SET_KEEPCAPS: 8,
  CAPBSET_READ: 23,
  CAPBSET_DROP: 24,
  SET_CHILD_SUBREAPER: 36,
  SET_NO_NEW_PRIVS: 38,
  CAP_AMBIENT: 47,
  CAP_AMBIENT_RAISE: 2,
  CAP_AMBIENT_CLEAR_ALL: 4,
} as const;

const prctlCall = libcFunction('prctl', DataType.I32, [
  DataType.I32,
  DataType.I64,
  DataType.I64,
  DataType.I64,
  DataType.I64,
]);

export function prctl(option: number, arg2 = 0, arg3 = 0, subject?: string): number {
  return prctlCall([option, arg2, arg3, 0, 0], subject ?? `option ${option}`);
}
