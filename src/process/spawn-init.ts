/**
 * The parent side of process creation: start the container's init as a
 * fresh runts process inside new namespaces through a clone chain, map its
 * user namespace, and hand it its bootstrap over the sync socket.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cloneChain, type ChainStep } from '../linux/clone-chain.js';
import { NativeBlock } from '../linux/memory.js';
import { CLONE, setns } from '../linux/ns.js';
import { setCloexec } from '../linux/fd.js';
import { socketPair } from '../linux/socket.js';
import { SyncChannel, type InitBootstrap } from './protocol.js';

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface SpawnInitOptions {
  /** CLONE_NEW* flags of the namespaces to create. */
  cloneFlags: number;
  /** A user namespace to join (in the chain: only a single-threaded process may). */
  userNsPath?: string;
  /** A PID namespace to join: the parent enters it for its next child. */
  pidNsPath?: string;
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  /**
   * A new time namespace: clone() cannot create one (its flag is taken by
   * the exit signal), so the chain unshares it and execve moves the init in.
   */
  newTimeNs?: { offsets?: Record<string, { secs?: number; nanosecs?: number }> };
  /** A time namespace to join, in the chain (setns of a time ns needs a single thread). */
  timeNsPath?: string;
  /** fds the init must inherit besides stdio (preserved fds, console socket). */
  inheritFds: number[];
  bootstrap: Omit<InitBootstrap, 'consoleSocketFd'> & { consoleSocketFd?: number };
  /**
   * Called with the new pid before the child may run (it waits in the
   * chain's read): place it in its cgroups here, so the init and all it
   * starts are accounted from the first instruction.
   */
  onCloned?: (pid: number) => void;
}

export interface SpawnedInit {
  pid: number;
  channel: SyncChannel;
}

/** dist/init.mjs, next to the running dist/runts.mjs. */
export function initScriptPath(): string {
  if (process.env.RUNTS_INIT_SCRIPT) return process.env.RUNTS_INIT_SCRIPT;
  return path.join(path.dirname(fs.realpathSync(process.argv[1])), 'init.mjs');
}

function writeMappings(pid: number, file: 'uid_map' | 'gid_map', maps: IdMapping[]): void {
  const text = maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join('\n') + '\n';
  fs.writeFileSync(`/proc/${pid}/${file}`, text);
}

/** Wait for the chain's unshare(CLONE_NEWTIME), then set the clocks of the empty namespace. */
function writeTimeOffsets(pid: number, offsets: Record<string, { secs?: number; nanosecs?: number }>): void {
  const own = fs.readlinkSync('/proc/self/ns/time');
  const sab = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; fs.readlinkSync(`/proc/${pid}/ns/time_for_children`) === own; i++) {
    if (i > 2000) throw new Error('the init did not create its time namespace');
    Atomics.wait(sab, 0, 0, 1);
  }
  const text = Object.entries(offsets)
    .map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}`)
    .join('\n');
  if (text) fs.writeFileSync(`/proc/${pid}/timens_offsets`, text);
}

export function spawnInit(o: SpawnInitOptions): SpawnedInit {
  const [parentEnd, childEnd] = socketPair();
  const block = new NativeBlock(1 << 20);
  const byte = block.alloc(8);
  const toClose: number[] = [childEnd];
  try {
    // Node marks stdio close-on-exec; the init must inherit them.
    for (const fd of [0, 1, 2, childEnd, ...o.inheritFds]) {
      try {
        setCloexec(fd, false);
      } catch {}
    }
    const steps: ChainStep[] = [];
    // Before the wait, so the parent can write the offsets while the
    // namespace is still empty (execve is what moves the init into it).
    if (o.newTimeNs) steps.push({ fn: 'unshare', args: [CLONE.NEWTIME] });
    steps.push({ fn: 'read', args: [childEnd, byte.address, 1] });
    if (o.userNsPath) {
      const userNsFd = fs.openSync(o.userNsPath, fs.constants.O_RDONLY);
      toClose.push(userNsFd);
      steps.push({ fn: 'setns', args: [userNsFd, CLONE.NEWUSER] });
    }
    if (o.timeNsPath) {
      const timeNsFd = fs.openSync(o.timeNsPath, fs.constants.O_RDONLY);
      toClose.push(timeNsFd);
      steps.push({ fn: 'setns', args: [timeNsFd, CLONE.NEWTIME] });
    }
    if (o.userNsPath || (o.cloneFlags & CLONE.NEWUSER) !== 0) {
      // Root of the user namespace, or the execve below drops every capability.
      steps.push({ fn: 'setresgid', args: [0, 0, 0] }, { fn: 'setresuid', args: [0, 0, 0] });
    }
    const argv = [process.execPath, initScriptPath()];
    const env = [`_RUNTS_SYNC_FD=${childEnd}`, 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
    steps.push(
      { fn: 'execve', args: [block.cString(process.execPath), block.cStringArray(argv), block.cStringArray(env)] },
      { fn: '_exit', args: [127] },
    );

    let pid: number;
    if (o.pidNsPath) {
      const own = fs.openSync('/proc/self/ns/pid', fs.constants.O_RDONLY);
      const target = fs.openSync(o.pidNsPath, fs.constants.O_RDONLY);
      try {
        setns(target, CLONE.NEWPID, `pid namespace ${o.pidNsPath}`);
        try {
          pid = cloneChain(o.cloneFlags, steps, block);
        } finally {
          setns(own, CLONE.NEWPID, 'own pid namespace');
        }
      } finally {
        fs.closeSync(own);
        fs.closeSync(target);
      }
    } else {
      pid = cloneChain(o.cloneFlags, steps, block);
    }
    for (const fd of toClose) fs.closeSync(fd);
    toClose.length = 0;

    const channel = new SyncChannel(parentEnd);
    try {
      if (o.newTimeNs) writeTimeOffsets(pid, o.newTimeNs.offsets ?? {});
      o.onCloned?.(pid);
      if ((o.cloneFlags & CLONE.NEWUSER) !== 0) {
        if (o.uidMappings?.length) writeMappings(pid, 'uid_map', o.uidMappings);
        if (o.gidMappings?.length) writeMappings(pid, 'gid_map', o.gidMappings);
      }
      fs.writeSync(parentEnd, 'x');
      channel.send({ type: 'bootstrap', bootstrap: o.bootstrap as InitBootstrap });
    } catch (e) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
      channel.close();
      throw Object.assign(e as Error, { initPid: pid });
    }
    return { pid, channel };
  } finally {
    for (const fd of toClose) fs.closeSync(fd);
  }
}
