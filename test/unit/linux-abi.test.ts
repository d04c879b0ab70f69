/** The x86-64 ABI table, the architecture check and the errno helpers: no root, no native code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARCH, IOCTL, NODE_ARCH, OPEN_HOW, SYSCALL, UCONTEXT } from '../../src/linux/abi-x86_64.js';
import { assertSupportedArch } from '../../src/linux/arch.js';
import { errnoName, errnoOf, SyscallError } from '../../src/linux/errno.js';
import { isUserError } from '../../src/errors.js';

test('the table is x86-64 and holds the numbers of syscall_64.tbl', () => {
  assert.equal(ARCH, 'x86_64');
  assert.equal(NODE_ARCH, 'x64');
  assert.equal(SYSCALL.pivot_root, 155);
  assert.equal(SYSCALL.keyctl, 250);
  assert.equal(SYSCALL.seccomp, 317);
  assert.equal(SYSCALL.bpf, 321);
  assert.equal(SYSCALL.openat2, 437);
  assert.equal(SYSCALL.mount_setattr, 442);
  assert.equal(new Set(Object.values(SYSCALL)).size, Object.keys(SYSCALL).length, 'no number twice');
  assert.equal(IOCTL.TIOCGPTN, 0x80045430);
  assert.equal(OPEN_HOW.SIZE, 24);
  assert.equal(UCONTEXT.LINK, 8);
});

test('runts refuses an architecture it has no table for, as a user error', () => {
  assert.doesNotThrow(() => assertSupportedArch('linux', 'x64'));
  assert.throws(
    () => assertSupportedArch('linux', 'arm64'),
    (e: unknown) => isUserError(e) && /^unsupported architecture arm64: /.test(e.message),
  );
  assert.throws(
    () => assertSupportedArch('darwin', 'x64'),
    (e: unknown) => isUserError(e) && /^unsupported platform darwin/.test(e.message),
  );
});

test('SyscallError names the call, the subject and the errno', () => {
  const e = new SyscallError('mount', 2, 'proc to /proc');
  assert.equal(e.message, 'mount proc to /proc: ENOENT');
  assert.equal(e.code, 'ENOENT');
  assert.equal(new SyscallError('setsid', 1).message, 'setsid: EPERM');
  assert.equal(errnoName(11), 'EAGAIN', 'not its alias EWOULDBLOCK');
  assert.equal(errnoName(95), 'EOPNOTSUPP', 'not its alias ENOTSUP');
  assert.equal(errnoName(100000), 'errno 100000');
});

test('errnoOf reads SyscallError and Node errors alike', () => {
  assert.equal(errnoOf(new SyscallError('open', 13)), 'EACCES');
  assert.equal(errnoOf(Object.assign(new Error('x'), { code: 'ENOENT' })), 'ENOENT');
  assert.equal(errnoOf(new Error('plain')), undefined);
  assert.equal(errnoOf({ code: 5 }), undefined);
  assert.equal(errnoOf(undefined), undefined);
  assert.equal(errnoOf('ENOENT'), undefined);
});
