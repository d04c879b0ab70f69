/**
 * A verified handle on a procfs, for writing the calling thread's attributes
 * (LSM exec labels, keycreate, oom_score_adj) without trusting any path
 * inside the container (CVE-2019-16884: an image or a volume that puts a
 * file or a mount over /proc/self/attr/... made runc write the label into
 * the wrong place).
 *
 * The init opens the host's /proc before it joins or builds anything
 * (O_PATH, checked to be the root of a procfs), keeps the fd across
 * pivot_root, and opens attributes beneath it with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS): no `..`, no crossing into
 * another mount, no magic links. The result is checked to be on procfs too.
 * That procfs belongs to the host's PID namespace, so `self` and
 * `thread-self` name the init by its host pid, which is also what a
 * seccomp agent needs.
 */
import fs from 'node:fs';
import { OPEN_HOW, STATFS } from './abi-x86_64.js';
import { errnoOf } from './errno.js';
import { DataType, libcFunction } from './libc.js';
import { namedSyscall } from './syscall.js';
import { NativeBlock } from './memory.js';
import { O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_WRONLY } from './at-calls.js';

const PROC_SUPER_MAGIC = 0x9fa0;
const PROC_ROOT_INO = 1;

const RESOLVE_NO_XDEV = 0x01;
const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_BENEATH = 0x08;

const I64 = DataType.I64;
const openat2Call = namedSyscall('openat2', [I64, I64, I64, I64]);
const openatCall = libcFunction('openat', DataType.I32, [DataType.I32, I64, DataType.I32, DataType.I32]);
const fstatfsCall = libcFunction('fstatfs', DataType.I32, [DataType.I32, I64]);
const getcwdCall = libcFunction('getcwd', I64, [I64, I64], (p) => p === 0);

/** f_type of the filesystem holding `fd` (struct statfs starts with a long f_type). */
export function fsType(fd: number): number {
  const b = new NativeBlock(STATFS.SIZE);
  fstatfsCall([fd, Number(b.address)], `fd ${fd}`);
  return Number(b.view.readBigInt64LE(STATFS.F_TYPE));
}

/**
 * getcwd(3) from libc (not Node's cached process.cwd()). It fails with
 * ENOENT when the cwd is not reachable from the root, e.g. a directory of
 * the host entered through a leaked fd (CVE-2024-21626).
 */
export function getcwd(): string {
  const b = new NativeBlock(4200);
  getcwdCall([Number(b.address), 4096], 'current directory');
  const end = b.view.indexOf(0);
  return b.view.toString('utf8', 0, end < 0 ? 4096 : end);
}

export class ProcfsHandle {
  private constructor(
    private fd: number,
    /** false only for the stand-in directory of tests. */
    private readonly verified: boolean,
    readonly where: string,
  ) {}

  /** Open and verify the procfs mounted at `path` (the host's /proc, before pivot_root). */
  static open(path = '/proc'): ProcfsHandle {
    const fd = fs.openSync(path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    try {
      if (fsType(fd) !== PROC_SUPER_MAGIC) throw new Error(`${path} is not a procfs`);
      if (fs.fstatSync(fd).ino !== PROC_ROOT_INO) throw new Error(`${path} is not the root of a procfs`);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return new ProcfsHandle(fd, true, path);
  }

  /**
   * A plain directory standing in for procfs (tests of the code that writes
   * attributes: this kernel has no AppArmor or SELinux to write them to).
   */
  static standIn(dir: string): ProcfsHandle {
    return new ProcfsHandle(fs.openSync(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), false, dir);
  }

  /** Open `sub` (relative, e.g. "thread-self/attr/exec") beneath the handle. */
  openFile(sub: string, flags: number): number {
    if (this.fd < 0) throw new Error('procfs handle is closed');
    const b = new NativeBlock(sub.length * 4 + 64);
    const path = b.cString(sub);
    const how = b.alloc(OPEN_HOW.SIZE);
    b.view.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), how.offset + OPEN_HOW.FLAGS);
    b.view.writeBigUInt64LE(0n, how.offset + OPEN_HOW.MODE);
    b.view.writeBigUInt64LE(
      BigInt(RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS),
      how.offset + OPEN_HOW.RESOLVE,
    );
    let fd: number;
    try {
      fd = openat2Call([this.fd, Number(path), Number(how.address), OPEN_HOW.SIZE], `${this.where}/${sub}`);
    } catch (e) {
      if (errnoOf(e) !== 'ENOSYS') throw e;
      // Before Linux 5.6: no symlink in the last component, checked below to be on procfs.
      fd = openatCall([this.fd, Number(path), flags | O_CLOEXEC | O_NOFOLLOW, 0], `${this.where}/${sub}`);
    }
    if (this.verified && fsType(fd) !== PROC_SUPER_MAGIC) {
      fs.closeSync(fd);
      throw new Error(`${this.where}/${sub} is not on procfs`);
    }
    return fd;
  }

  exists(sub: string): boolean {
    try {
      fs.closeSync(this.openFile(sub, O_PATH));
      return true;
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return false;
      throw e;
    }
  }

  /** Write `value` with one write(2), as procfs attributes need. */
  write(sub: string, value: string): void {
    const fd = this.openFile(sub, O_WRONLY);
    try {
      const data = Buffer.from(value);
      let n: number;
      try {
        n = fs.writeSync(fd, data);
      } catch (e) {
        throw new Error(`write ${this.where}/${sub}: ${errnoOf(e) ?? String(e)}`, { cause: e });
      }
      if (n !== data.length) throw new Error(`write ${this.where}/${sub}: short write`);
    } finally {
      fs.closeSync(fd);
    }
  }

  read(sub: string): string {
    const fd = this.openFile(sub, 0);
    try {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(4096);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n <= 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      return Buffer.concat(chunks).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The calling process's pid as this procfs sees it (the host pid for the host's /proc). */
  selfPid(): number {
    const stat = this.read('self/stat');
    return Number(stat.slice(0, stat.indexOf(' ')));
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
