/**
 * AF_UNIX sockets: the parent/init sync socketpair, connecting to a
 * client's --console-socket, and passing an fd with SCM_RIGHTS.
 */
import { DataType, libcFunction } from './libc.js';
import { NativeBlock } from './memory.js';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000;

const socketCall = libcFunction('socket', DataType.I32, [DataType.I32, DataType.I32, DataType.I32]);
const socketpairCall = libcFunction('socketpair', DataType.I32, [
  DataType.I32,
  DataType.I32,
  DataType.I32,
  DataType.I64,
]);
const connectCall = libcFunction('connect', DataType.I32, [DataType.I32, DataType.I64, DataType.I32]);
const sendmsgCall = libcFunction('sendmsg', DataType.I64, [DataType.I32, DataType.I64, DataType.I32]);
const recvmsgCall = libcFunction('recvmsg', DataType.I64, [DataType.I32, DataType.I64, DataType.I32]);

/** A stream socketpair; both ends close-on-exec. */
export function socketPair(): [number, number] {
  const b = new NativeBlock(64);
  const fds = b.alloc(8);
  socketpairCall([AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, Number(fds.address)], 'AF_UNIX stream');
  return [b.view.readInt32LE(fds.offset), b.view.readInt32LE(fds.offset + 4)];
}

/** Connect a new AF_UNIX stream socket to `path`. */
export function connectUnix(path: string): number {
  const b = new NativeBlock(256);
  const addr = b.alloc(110);
  const bytes = Buffer.from(path);
  if (bytes.length >= 108) throw new Error(`socket path too long: ${path}`);
  b.view.writeUInt16LE(AF_UNIX, addr.offset);
  bytes.copy(b.view, addr.offset + 2);
  const fd = socketCall([AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0], path);
  connectCall([fd, Number(addr.address), 2 + bytes.length + 1], path);
  return fd;
}

const MSG_NOSIGNAL = 0x4000;

/**
 * One sendmsg(2) carrying `payload` and a single SCM_RIGHTS fd, built in
 * advance so that sending allocates nothing (the seccomp listener fd is
 * sent right after the filter is installed): send() writes the fd into
 * the control message and calls sendmsg.
 */
export class FdMessage {
  private readonly block: NativeBlock;
  private readonly msg: bigint;
  private readonly fdOffset: number;

  constructor(payload: string) {
    const data = Buffer.from(payload.length ? payload : '\0');
    this.block = new NativeBlock(data.length + 256);
    const b = this.block;
    const dataPtr = b.alloc(data.length);
    data.copy(b.view, dataPtr.offset);
    const iov = b.alloc(16);
    b.view.writeBigUInt64LE(dataPtr.address, iov.offset);
    b.view.writeBigUInt64LE(BigInt(data.length), iov.offset + 8);
    // struct cmsghdr { size_t len; int level; int type; } + one int: CMSG_LEN(4) = 20, CMSG_SPACE(4) = 24.
    const cmsg = b.alloc(24);
    b.view.writeBigUInt64LE(20n, cmsg.offset);
    b.view.writeInt32LE(SOL_SOCKET, cmsg.offset + 8);
    b.view.writeInt32LE(SCM_RIGHTS, cmsg.offset + 12);
    this.fdOffset = cmsg.offset + 16;
    // struct msghdr { name, namelen, iov, iovlen, control, controllen, flags }.
    const msg = b.alloc(56);
    b.view.writeBigUInt64LE(iov.address, msg.offset + 16);
    b.view.writeBigUInt64LE(1n, msg.offset + 24);
    b.view.writeBigUInt64LE(cmsg.address, msg.offset + 32);
    b.view.writeBigUInt64LE(24n, msg.offset + 40);
    this.msg = msg.address;
  }

  send(sock: number, fd: number): void {
    this.block.view.writeInt32LE(fd, this.fdOffset);
    sendmsgCall([sock, Number(this.msg), MSG_NOSIGNAL], 'SCM_RIGHTS');
  }
}

/**
 * Send one fd with SCM_RIGHTS and `payload` as the data, in one sendmsg, as
 * runc does for --console-socket (the payload is the pty's name).
 */
export function sendFd(sock: number, fd: number, payload: string): void {
  new FdMessage(payload).send(sock, fd);
}

/** One recvmsg: the fd sent with SCM_RIGHTS and the data; undefined at end of stream. */
function recvOne(sock: number): { fd: number; payload: string } | undefined {
  const b = new NativeBlock(8192);
  const data = b.alloc(4096);
  const iov = b.alloc(16);
  b.view.writeBigUInt64LE(data.address, iov.offset);
  b.view.writeBigUInt64LE(4096n, iov.offset + 8);
  const cmsg = b.alloc(64);
  const msg = b.alloc(56);
  b.view.writeBigUInt64LE(iov.address, msg.offset + 16);
  b.view.writeBigUInt64LE(1n, msg.offset + 24);
  b.view.writeBigUInt64LE(cmsg.address, msg.offset + 32);
  b.view.writeBigUInt64LE(64n, msg.offset + 40);
  const n = recvmsgCall([sock, Number(msg.address), MSG_CMSG_CLOEXEC], 'SCM_RIGHTS');
  const controllen = Number(b.view.readBigUInt64LE(msg.offset + 40));
  if (n === 0 && controllen === 0) return undefined;
  if (controllen < 20 || b.view.readInt32LE(cmsg.offset + 12) !== SCM_RIGHTS)
    throw new Error('no fd received');
  return {
    fd: b.view.readInt32LE(cmsg.offset + 16),
    payload: b.view.toString('utf8', data.offset, data.offset + n),
  };
}

/** Receive one fd sent with SCM_RIGHTS (tests and the pty relay use it). */
export function recvFd(sock: number): { fd: number; payload: string } {
  const r = recvOne(sock);
  if (!r) throw new Error('no fd received');
  return r;
}

/**
 * Every fd sent with sendFd until the peer closes its end. On a stream
 * socket the kernel never merges two messages that carry fds, so each
 * payload comes back whole with its fd.
 */
export function recvFdsUntilEof(sock: number): Array<{ fd: number; payload: string }> {
  const out: Array<{ fd: number; payload: string }> = [];
  for (let r = recvOne(sock); r; r = recvOne(sock)) out.push(r);
  return out;
}
