/**
 * The parent side of process creation: start the container's init as a
 * fresh runts process inside new namespaces through a clone chain, map its
 * user namespace, and hand it its bootstrap over the sync socket.
 */
import { writeIdMappings } from './id-mappings.js';
import { runningInUserNamespace } from '../linux/userns.js';
import fs from 'node:fs';
import path from 'node:path';
import { cloneChain, cloneStep, type ChainStep } from '../linux/clone-chain.js';
import { PR, prctl } from '../linux/prctl.js';
import { waitPid } from '../linux/wait.js';
import { sleepMs } from '../linux/sleep.js';
import { NativeBlock } from '../linux/memory.js';
import { CLONE, setns } from '../linux/ns.js';
import { setCloexec } from '../linux/fd.js';
import { socketPair } from '../linux/socket.js';
import { sealedExecutable } from '../linux/exeseal.js';
import { SyncChannel, type ExecBootstrap, type InitBootstrap, type ParentChannel } from './protocol.js';
import { O_PATH } from '../linux/at-calls.js';
import { pausePoint } from '../test-points.js';
import { inheritedSealedFd } from './reexec.js';
import { sealedMemfd } from '../linux/memfd.js';
import type { Linux, LinuxIDMapping } from '../spec/types.gen.js';

/** Written by the parent when the chain may go on: the first character of the init's executable path. */
const SYNC_BYTE = '/';
const SIGKILL = 9;

/** The clocks of a new time namespace (linux.timeOffsets). */
type TimeOffsets = NonNullable<Linux['timeOffsets']>;

export interface SpawnInitOptions {
  /** CLONE_NEW* flags of the namespaces to create. */
  cloneFlags: number;
  /** A user namespace to join (in the chain: only a single-threaded process may). */
  userNsPath?: string | undefined;
  /** A PID namespace to join: the parent enters it for its next child. */
  pidNsPath?: string | undefined;
  uidMappings?: LinuxIDMapping[] | undefined;
  gidMappings?: LinuxIDMapping[] | undefined;
  /**
   * A new time namespace: clone() cannot create one (its flag is taken by
   * the exit signal), so the chain unshares it and execve moves the init in.
   */
  newTimeNs?: { offsets?: TimeOffsets | undefined } | undefined;
  /** A time namespace to join, in the chain (setns of a time ns needs a single thread). */
  timeNsPath?: string | undefined;
  /** fds the init must inherit besides stdio (preserved fds, console socket). */
  inheritFds: number[];
  bootstrap?: (Omit<InitBootstrap, 'consoleSocketFd'> & { consoleSocketFd?: number | undefined }) | undefined;
  /** Start dist/setns-init.cjs with this bootstrap instead of the init (`runts exec`). */
  exec?: ExecBootstrap | undefined;
  /**
   * Called with the init's pid to place it in its cgroups, once it has
   * started Node and loaded its code ('booted') and before it gets its
   * bootstrap: everything it does for the container, and all it starts, is
   * accounted to the container, but not the ~8 MB of starting Node, which
   * stay with the runtime (as runc's init starts before runc applies its
   * cgroups). Without that a memory limit under ~12 MB could not be met;
   * runc's own init needs 2.5 MB.
   */
  onBooted?: ((pid: number) => void) | undefined;
  /**
   * Called with each process the chain makes as soon as its pid is known and
   * before it is let go: the clone child (with a nested clone, the middle
   * process, then again with the init). `create` records them, so that a
   * crash at any later point leaves nothing `delete --force` cannot find.
   */
  onSpawned?: ((pid: number) => void) | undefined;
}

export interface SpawnedInit {
  pid: number;
  channel: ParentChannel;
}

/** dist/init.cjs, next to the running dist/runts. */
function initScriptPath(): string {
  if (process.env.RUNTS_INIT_SCRIPT) return process.env.RUNTS_INIT_SCRIPT;
  return path.join(path.dirname(fs.realpathSync(process.argv[1] ?? '')), 'init.cjs');
}

/**
 * dist/runts-wait as a sealed memfd for the init to exec, when the build
 * made it (src/init/wait-handover.ts); else the init waits in Node.
 */
export function waitProgramFd(): number | undefined {
  let program: Buffer;
  try {
    program = fs.readFileSync(path.join(path.dirname(initScriptPath()), 'runts-wait'));
  } catch {
    return undefined;
  }
  return sealedMemfd('runts-wait', program);
}

/** dist/setns-init.cjs, next to the init. */
function execInitScriptPath(): string {
  return path.join(path.dirname(initScriptPath()), 'setns-init.cjs');
}

/** Wait for the chain's unshare(CLONE_NEWTIME), then set the clocks of the empty namespace. */
function writeTimeOffsets(pid: number, offsets: TimeOffsets): void {
  const own = fs.readlinkSync('/proc/self/ns/time');
  for (let i = 0; fs.readlinkSync(`/proc/${pid}/ns/time_for_children`) === own; i++) {
    if (i > 2000) throw new Error('the init did not create its time namespace');
    sleepMs(1);
  }
  const text = Object.entries(offsets)
    .map(([clock, o]) => `${clock} ${o?.secs ?? 0} ${o?.nanosecs ?? 0}`)
    .join('\n');
  if (text) fs.writeFileSync(`/proc/${pid}/timens_offsets`, text);
}

function runningOrSleeping(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/**
 * The init is the middle process's child: take its pid from
 * /proc/<mid>/task/<mid>/children, let the middle process exit, and (as
 * child subreaper) become the init's parent, so `run` can wait for it.
 */
function adoptGrandchild(mid: number, midSync: number, onFound?: (pid: number) => void): number {
  prctl(PR.SET_CHILD_SUBREAPER, 1, 0, 'child subreaper');
  let init = 0;
  for (let i = 0; init === 0; i++) {
    let children = '';
    try {
      children = fs.readFileSync(`/proc/${mid}/task/${mid}/children`, 'utf8').trim();
    } catch {}
    if (children) init = Number(children.split(' ')[0]);
    else if (i > 5000 || !runningOrSleeping(mid)) throw new Error('the init process was not started');
    else sleepMs(1);
  }
  onFound?.(init); // before the middle process goes: one of the two is always on record
  fs.writeSync(midSync, 'x');
  fs.closeSync(midSync);
  waitPid(mid);
  return init;
}

/** The clone chain, in the PID namespace at `pidNsPath` when given (the parent enters it for that one child). */
function cloneInto(
  pidNsPath: string | undefined,
  flags: number,
  steps: ChainStep[],
  block: NativeBlock,
): number {
  if (!pidNsPath) return cloneChain(flags, steps, block);
  const own = fs.openSync('/proc/self/ns/pid', fs.constants.O_RDONLY);
  const target = fs.openSync(pidNsPath, fs.constants.O_RDONLY);
  try {
    setns(target, CLONE.NEWPID, `pid namespace ${pidNsPath}`);
    try {
      return cloneChain(flags, steps, block);
    } finally {
      setns(own, CLONE.NEWPID, 'own pid namespace');
    }
  } finally {
    fs.closeSync(own);
    fs.closeSync(target);
  }
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
    // Namespaces created after joining a user namespace must be owned by
    // it: the chain clones them with a grandchild, which becomes the init
    // (runc's nsexec forks twice for the same reason).
    // Entering a PID namespace needs CAP_SYS_ADMIN in one's own user
    // namespace too, and runts comes back to its own after the clone: a
    // non-root runts, or root of a user namespace that does not own the
    // initial PID namespace (rootless podman), could not. The chain enters
    // it instead, after the container's user namespace, and a grandchild is
    // born in it (as runc's nsexec does).
    const pidNsInChain =
      o.pidNsPath !== undefined &&
      ((o.userNsPath !== undefined && (process.geteuid?.() ?? 0) !== 0) || runningInUserNamespace());
    const nested = (o.userNsPath !== undefined && o.cloneFlags !== 0) || pidNsInChain;
    const midSync = nested ? socketPair() : undefined;
    if (midSync) toClose.push(midSync[1]);

    // CVE-2019-5736: Node runs from a read-only view of its binary, and the
    // argv names no host path (see src/linux/exeseal.ts).
    // A runts already re-executed from the sealed view (reexec.ts) passes its own on.
    const inheritedFd = inheritedSealedFd();
    const sealed = inheritedFd !== undefined ? { fd: inheritedFd } : sealedExecutable();
    if (sealed) toClose.push(sealed.fd);
    const exePath = sealed ? `/proc/self/fd/${sealed.fd}` : process.execPath;
    // The parent's sync byte is the first character of the path execve
    // runs: a chain whose parent died (EOF) has an empty path, its execve
    // fails and it exits.
    if (exePath[0] !== SYNC_BYTE) throw new Error(`not an absolute path: ${exePath}`);
    const exePathAddr = block.cString(exePath);
    block.view[Number(exePathAddr - block.address)] = 0;

    const steps: ChainStep[] = [];
    // Before the wait, so the parent can write the offsets while the
    // namespace is still empty (execve is what moves the init into it).
    if (o.newTimeNs) steps.push({ fn: 'unshare', args: [CLONE.NEWTIME] });
    // The chain's copies of the parent's ends go first: the parent's death
    // must be an EOF for every read below.
    steps.push({ fn: 'close', args: [parentEnd] });
    if (midSync) steps.push({ fn: 'close', args: [midSync[0]] });
    steps.push({ fn: 'read', args: [childEnd, exePathAddr, 1] });
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
    if (pidNsInChain && o.pidNsPath) {
      const pidNsFd = fs.openSync(o.pidNsPath, fs.constants.O_RDONLY);
      toClose.push(pidNsFd);
      steps.push({ fn: 'setns', args: [pidNsFd, CLONE.NEWPID] });
    }
    // Die with the parent: after every credential change (which clears it).
    // The nested init's parent is the middle process, which exits by design:
    // it has none, and ends on EOF of its sync socket instead.
    const dieWithParent: ChainStep = { fn: 'prctl', args: [PR.SET_PDEATHSIG, SIGKILL, 0, 0, 0] };
    if (midSync) steps.push(dieWithParent);
    const initSteps = midSync ? [] : steps;
    if (o.userNsPath || (o.cloneFlags & CLONE.NEWUSER) !== 0) {
      // Root of the user namespace, or the execve below drops every capability.
      initSteps.push({ fn: 'setresgid', args: [0, 0, 0] }, { fn: 'setresuid', args: [0, 0, 0] });
    }
    if (!midSync) initSteps.push(dieWithParent);
    // The init reads its code (script, chunks, the ffi-rs addon) below an
    // inherited fd on runts' package directory: as root of a user namespace
    // (host uid 100000) it may not walk the path there (a clone under /root
    // is 0700), and Node must not resolve that path (--preserve-symlinks*).
    // The init closes the fd once its code is loaded.
    const script = o.exec ? execInitScriptPath() : initScriptPath();
    const pkgDir = path.dirname(path.dirname(script));
    const pkg = fs.openSync(pkgDir, O_PATH | fs.constants.O_DIRECTORY);
    toClose.push(pkg);
    setCloexec(pkg, false);
    const argv = [
      o.exec ? 'runts:exec' : 'runts:init',
      '--preserve-symlinks',
      '--preserve-symlinks-main',
      `/proc/self/fd/${pkg}/${path.relative(pkgDir, script)}`,
    ];
    const env = [
      `_RUNTS_SYNC_FD=${childEnd}`,
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ];
    initSteps.push(
      { fn: 'execve', args: [exePathAddr, block.cStringArray(argv), block.cStringArray(env)] },
      { fn: '_exit', args: [127] },
    );
    if (midSync) {
      // The middle process waits until the parent has seen the init's pid.
      steps.push(
        cloneStep(o.cloneFlags, initSteps, block),
        { fn: 'read', args: [midSync[1], byte.address, 1] },
        { fn: '_exit', args: [0] },
      );
    }
    const cloneFlags = nested ? 0 : o.cloneFlags;

    // CVE-2019-5736: until its execve the child is a copy of this process,
    // whose /proc/<pid>/exe is the host's node, and (exec, or a joined PID
    // namespace) already visible in the container. Not dumpable, that link
    // needs CAP_SYS_PTRACE in the host's user namespace, even once the chain
    // is root of the container's user namespace. The flag is the memory
    // map's, copied by clone: ours is restored right after. Not for a
    // rootless runts, which must still write the child's uid_map (and whose
    // node binary the container's user could not write anyway).
    const undumpable = process.geteuid?.() === 0;
    if (undumpable) prctl(PR.SET_DUMPABLE, 0, 0, 'not dumpable');
    let pid: number;
    try {
      pid = cloneInto(pidNsInChain ? undefined : o.pidNsPath, cloneFlags, steps, block);
    } finally {
      if (undumpable) prctl(PR.SET_DUMPABLE, 1, 0, 'dumpable');
    }
    pausePoint('clone');
    for (const fd of toClose) fs.closeSync(fd);
    toClose.length = 0;

    const channel: ParentChannel = new SyncChannel(parentEnd);
    try {
      o.onSpawned?.(pid);
      if (o.newTimeNs) writeTimeOffsets(pid, o.newTimeNs.offsets ?? {});
      if ((o.cloneFlags & CLONE.NEWUSER) !== 0) {
        writeIdMappings(pid, o.uidMappings, o.gidMappings);
      }
      fs.writeSync(parentEnd, SYNC_BYTE);
      pausePoint('sync');
      if (midSync) pid = adoptGrandchild(pid, midSync[0], o.onSpawned);
      const booted = channel.receive();
      if (booted?.type !== 'booted') {
        throw new Error(
          booted?.type === 'error' ? booted.message : 'the container init exited before it started',
        );
      }
      pausePoint('booted');
      o.onBooted?.(pid);
      channel.send(
        o.exec
          ? { type: 'exec', bootstrap: o.exec }
          : { type: 'bootstrap', bootstrap: o.bootstrap as InitBootstrap },
      );
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
