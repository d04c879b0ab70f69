/** Pseudo-terminals: open a master from a ptmx, find and open its slave. */
import fs from 'node:fs';
import { IOCTL, TERMIOS_SIZE } from './abi-x86_64.js';
import { DataType, libcFunction } from './libc.js';
import { NativeBlock } from './memory.js';
import { fchownFd } from './at-calls.js';

const KEEP_ID = 0xffffffff; // (gid_t)-1: chown leaves it as it is

const ioctlPtr = libcFunction('ioctl', DataType.I32, [DataType.I32, DataType.U64, DataType.I64]);
const setsidCall = libcFunction('setsid', DataType.I32, []);

/**
 * A new pty from `ptmxPath`. The slave is given to `ownerUid` (the container
 * process's uid, as runc does; its group stays devpts' tty group), so that a
 * non-root process owns its terminal.
 */
export function openPty(
  ptmxPath: string,
  ownerUid = 0,
): { master: number; slave: number; slavePath: string } {
  const master = fs.openSync(ptmxPath, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  const b = new NativeBlock(16);
  const n = b.alloc(4);
  b.view.writeInt32LE(0, n.offset);
  ioctlPtr([master, IOCTL.TIOCSPTLCK, Number(n.address)], 'unlockpt');
  ioctlPtr([master, IOCTL.TIOCGPTN, Number(n.address)], 'ptsname');
  const slavePath = `/dev/pts/${b.view.readInt32LE(n.offset)}`;
  const slave = fs.openSync(slavePath, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  if (ownerUid !== 0) fchownFd(slave, ownerUid, KEEP_ID, slavePath);
  return { master, slave, slavePath };
}

export function setWindowSize(fd: number, rows: number, cols: number): void {
  const b = new NativeBlock(16);
  const ws = b.alloc(8);
  b.view.writeUInt16LE(rows, ws.offset);
  b.view.writeUInt16LE(cols, ws.offset + 2);
  ioctlPtr([fd, IOCTL.TIOCSWINSZ, Number(ws.address)], 'TIOCSWINSZ');
}

/** Start a new session with `fd` as its controlling terminal. */
export function makeControllingTerminal(fd: number): void {
  setsidCall([], 'setsid');
  ioctlPtr([fd, IOCTL.TIOCSCTTY, 0], 'TIOCSCTTY');
}

const tcgetattr = libcFunction('tcgetattr', DataType.I32, [DataType.I32, DataType.I64]);
const tcsetattr = libcFunction('tcsetattr', DataType.I32, [DataType.I32, DataType.I32, DataType.I64]);
const cfmakeraw = libcFunction<undefined>('cfmakeraw', DataType.Void, [DataType.I64], () => false);
const TCSANOW = 0;

/**
 * Put a terminal in raw mode as cfmakeraw does (no output processing
 * either, unlike Node's setRawMode), returning a function that restores it.
 */
export function makeRaw(fd: number): () => void {
  const b = new NativeBlock(2 * TERMIOS_SIZE + 32);
  const saved = b.alloc(TERMIOS_SIZE);
  const raw = b.alloc(TERMIOS_SIZE);
  tcgetattr([fd, Number(saved.address)], `fd ${fd}`);
  b.view.copy(b.view, raw.offset, saved.offset, saved.offset + TERMIOS_SIZE);
  cfmakeraw([Number(raw.address)]);
  tcsetattr([fd, TCSANOW, Number(raw.address)], `fd ${fd}`);
  return () => {
    try {
      tcsetattr([fd, TCSANOW, Number(saved.address)], `fd ${fd}`);
    } catch {}
  };
}
