/**
 * Kernel keyrings (keyctl(2); glibc has no wrapper, libkeyutils is not
 * needed for three calls). The container gets a session keyring of its own
 * so it cannot read or use the keys of the runtime's session.
 */
import { DataType } from './libc.js';
import { NativeBlock } from './memory.js';
import { namedSyscall } from './syscall.js';

const I64 = DataType.I64;
const keyctl = namedSyscall('keyctl', [I64, I64, I64, I64]);

const KEYCTL_JOIN_SESSION_KEYRING = 1;
const KEYCTL_SETPERM = 5;
const KEYCTL_DESCRIBE = 6;

/** Join (or create) the session keyring `name`; returns its serial. */
export function joinSessionKeyring(name: string): number {
  const b = new NativeBlock(name.length * 4 + 16);
  return keyctl([KEYCTL_JOIN_SESSION_KEYRING, Number(b.cString(name)), 0, 0], `session keyring ${name}`);
}

/** KEYCTL_DESCRIBE: "type;uid;gid;perm;description". */
export function describeKey(serial: number): string {
  const b = new NativeBlock(4096);
  const n = keyctl([KEYCTL_DESCRIBE, serial, Number(b.address), 4096], `key ${serial}`);
  return b.view.toString('utf8', 0, Math.max(0, Math.min(n, 4096) - 1));
}

export function setKeyPerm(serial: number, perm: number): void {
  keyctl([KEYCTL_SETPERM, serial, perm >>> 0, 0], `key ${serial} permissions`);
}

/** Keep the permission bits in `mask`, then add `bits` (runc's ModKeyringPerm). */
export function modKeyPerm(serial: number, mask: number, bits: number): void {
  const fields = describeKey(serial).split(';');
  const permField = fields.at(3);
  if (fields.length < 5 || permField === undefined) throw new Error(`key ${serial}: unexpected description`);
  const perm = Number.parseInt(permField, 16);
  setKeyPerm(serial, ((perm & mask) | bits) >>> 0);
}
