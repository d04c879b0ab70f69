/**
 * The sync protocol between `create` (parent) and the container's init:
 * newline-delimited JSON over a blocking AF_UNIX stream socketpair. This is
 * the only module src/process/ and src/init/ share.
 */
import fs from 'node:fs';
import { parseJson, stringifyJson } from '../json.js';
import type { NamespaceToJoin } from '../spec/convert.js';
import type {
  Annotations,
  LinuxNamespaceType,
  LinuxPersonality,
  LinuxSeccomp,
  Process,
  Spec,
} from '../spec/types.gen.js';

/** Everything the init needs, sent once it runs. */
export interface InitBootstrap {
  id: string;
  /** The validated config.json. */
  spec: Spec;
  bundle: string;
  /** Absolute host path of the rootfs. */
  rootfs: string;
  execFifoPath: string;
  /**
   * exec.fifo opened O_PATH by `create` and inherited: the init reopens it
   * through /proc/self/fd, so a user-namespaced init needs no access to
   * the path of the state directory (runc does the same).
   */
  execFifoFd?: number | undefined;
  /** fd (inherited) connected to the client's --console-socket, if any. */
  consoleSocketFd?: number | undefined;
  /** dist/runts-wait as a sealed memfd (inherited), when it was built: src/init/wait-handover.ts. */
  waitProgramFd?: number | undefined;
  noPivot: boolean;
  noNewKeyring: boolean;
  /** Number of fds after stdio passed to the container process. */
  preserveFds: number;
  /** Namespace types the init must join by path (user and pid are joined before it runs). */
  joinNamespaces: NamespaceToJoin[];
  /** The container's cgroup namespace is created by the init after it is placed in its cgroup. */
  unshareCgroupNs: boolean;
  /** Runtime-spec state for createContainer/startContainer hooks. */
  hookState: Record<string, unknown>;
  /** Idmapped bind mounts prepared by `create` (src/process/mount-sources.ts): inherited fds by index in spec.mounts. */
  mountFds?: Record<string, number> | undefined;
  /**
   * Inherited socket on which `create` sends plain bind sources it opened in
   * the init's mount namespace (O_PATH fds, each with its index in
   * spec.mounts as the data) and then closes (mount-sources.ts).
   */
  bindSourcesFd?: number | undefined;
}

/** Everything a process started by `runts exec` needs (src/init/setns-init.ts). */
export interface ExecBootstrap {
  id: string;
  /** The runtime-spec process to run, with the container's defaults already applied. */
  process: Process;
  /**
   * The container's namespaces to join, as fds inherited from `runts exec`
   * (user and pid are joined before it runs); mount is joined last.
   */
  joinNamespaces: Array<{ type: LinuxNamespaceType; fd: number }>;
  /** fd (inherited) of the socket that receives the pty master, when process.terminal. */
  consoleSocketFd?: number | undefined;
  /** Number of fds after stdio passed to the process. */
  preserveFds: number;
  /** The container's linux.seccomp, for the exec'ed process too. */
  seccomp?: LinuxSeccomp | undefined;
  /** The container's linux.personality. */
  personality?: LinuxPersonality | undefined;
  /** For the seccomp agent's state: the container's bundle and annotations. */
  bundle: string;
  annotations?: Annotations | undefined;
  /** Join the container's session keyring "_ses.<id>" (not with --no-new-keyring). */
  joinKeyring: boolean;
}

export type ParentMessage =
  | { type: 'bootstrap'; bootstrap: InitBootstrap }
  | { type: 'hooks-done' }
  /** `create` recorded the container: the init may outlive it now. */
  | { type: 'created' }
  | { type: 'exec'; bootstrap: ExecBootstrap };

export type InitMessage =
  /** Node is up and the init's code loaded: the parent may place it in its cgroups. */
  { type: 'booted' } | { type: 'run-hooks' } | { type: 'ready' } | { type: 'error'; message: string };

/**
 * A message channel on a blocking socket fd. Each message is one line of JSON written by
 * stringifyJson, so 64-bit integers of the config (RLIM_INFINITY, memory limits) reach the
 * other side exactly. Reading costs linear time in the message: only newly read bytes are
 * searched for the newline, and a message is decoded once, when it is complete.
 */
export class SyncChannel<
  Sends extends ParentMessage | InitMessage,
  Receives extends ParentMessage | InitMessage,
> {
  /** Bytes read after the last complete message, not yet searched for a newline. */
  private rest: Buffer = Buffer.alloc(0);
  /** Parts of the message being received (none of them holds a newline). */
  private parts: Buffer[] = [];

  constructor(readonly fd: number) {}

  send(msg: Sends): void {
    const data = Buffer.from(stringifyJson(msg) + '\n');
    let off = 0;
    while (off < data.length) off += fs.writeSync(this.fd, data, off);
  }

  /** Blocks for the next message; undefined at end of stream (the peer is gone). */
  receive(): Receives | undefined {
    for (;;) {
      const nl = this.rest.indexOf(0x0a);
      if (nl >= 0) {
        this.parts.push(this.rest.subarray(0, nl));
        this.rest = this.rest.subarray(nl + 1);
        const line = Buffer.concat(this.parts).toString('utf8');
        this.parts = [];
        // Written by the other end's send(): trusted as it was written.
        return parseJson(line).value as Receives;
      }
      if (this.rest.length > 0) this.parts.push(this.rest);
      const buf = Buffer.allocUnsafe(READ_SIZE);
      let n: number;
      try {
        n = fs.readSync(this.fd, buf, 0, buf.length, null);
      } catch (e) {
        this.rest = Buffer.alloc(0);
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EINTR')
          continue;
        if ((e as NodeJS.ErrnoException).code === 'ECONNRESET') return undefined;
        throw e;
      }
      if (n === 0) return undefined;
      this.rest = buf.subarray(0, n);
    }
  }

  private closed = false;

  /** Idempotent: a second close must not hit an fd number reused meanwhile. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch {}
  }
}

/** `create`'s and `exec`'s end: sends to the init, receives from it. */
export type ParentChannel = SyncChannel<ParentMessage, InitMessage>;
/** The init's end (and that of a process of `runts exec`). */
export type InitChannel = SyncChannel<InitMessage, ParentMessage>;

// Large enough that a config of megabytes arrives in few reads; most messages are far smaller.
const READ_SIZE = 1 << 20;
