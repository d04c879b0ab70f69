/**
 * Network interfaces through the classic ioctls on a datagram socket
 * (SIOCGIFFLAGS/SIOCSIFFLAGS on a struct ifreq): enough to bring an
 * interface up in the calling thread's network namespace.
 */
import fs from 'node:fs';
import { IOCTL } from './abi-x86_64.js';
import { DataType, libcFunction } from './libc.js';
import { NativeBlock } from './memory.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const IFF_UP = 0x1;
const IFNAMSIZ = 16;
/** struct ifreq: the name, then a union whose ifr_flags is a short. */
const IFREQ_SIZE = 40;

const socketCall = libcFunction('socket', DataType.I32, [DataType.I32, DataType.I32, DataType.I32]);
const ioctlPtr = libcFunction('ioctl', DataType.I32, [DataType.I32, DataType.U64, DataType.I64]);

/** Set IFF_UP on interface `name` (e.g. "lo") of the current network namespace. */
export function setLinkUp(name: string): void {
  const bytes = Buffer.from(name);
  if (bytes.length >= IFNAMSIZ) throw new Error(`interface name too long: ${name}`);
  const b = new NativeBlock(64);
  const req = b.alloc(IFREQ_SIZE);
  bytes.copy(b.view, req.offset);
  const fd = socketCall([AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0], `for ${name}`);
  try {
    ioctlPtr([fd, IOCTL.SIOCGIFFLAGS, Number(req.address)], `SIOCGIFFLAGS ${name}`);
    const flags = b.view.readUInt16LE(req.offset + IFNAMSIZ);
    if (flags & IFF_UP) return;
    b.view.writeUInt16LE(flags | IFF_UP, req.offset + IFNAMSIZ);
    ioctlPtr([fd, IOCTL.SIOCSIFFLAGS, Number(req.address)], `SIOCSIFFLAGS ${name}`);
  } finally {
    fs.closeSync(fd);
  }
}
