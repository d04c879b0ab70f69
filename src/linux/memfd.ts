/** Sealed in-memory files (memfd_create(2) with F_SEAL_*): contents nobody can change. */
import fs from 'node:fs';
import { DataType, libcFunction } from './libc.js';

const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033;
const F_SEAL_SEAL = 1;
const F_SEAL_SHRINK = 2;
const F_SEAL_GROW = 4;
const F_SEAL_WRITE = 8;

const memfdCreate = libcFunction('memfd_create', DataType.I32, [DataType.String, DataType.U32]);
const fcntl = libcFunction('fcntl', DataType.I32, [DataType.I32, DataType.I32, DataType.I32]);

/** A new close-on-exec memfd (`flags`: more MFD_* flags), named `name` in /proc/<pid>/fd; `what` names it in errors. */
export function createMemfd(name: string, flags = 0, what = `memfd ${name}`): number {
  return memfdCreate([name, MFD_CLOEXEC | flags], what);
}

/**
 * A close-on-exec memfd holding `content`, sealed against writes, resizing
 * and new seals: not even root can change it afterwards, so a container
 * that reaches it (through /proc/<pid>/exe of a process executed from it)
 * cannot turn it into anything else (CVE-2019-5736).
 */
export function sealedMemfd(name: string, content: Buffer): number {
  const fd = createMemfd(name, MFD_ALLOW_SEALING);
  try {
    let off = 0;
    while (off < content.length) off += fs.writeSync(fd, content, off, content.length - off, off);
    fcntl([fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE], `seal memfd ${name}`);
    return fd;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}
