/**
 * start, kill and delete: the lifecycle operations on an existing container,
 * each under the container's lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { MNT_DETACH, umount2 } from '../linux/mount.js';
import { pidfdOpen, waitReadable } from '../linux/poll.js';
import { readMountinfo } from '../linux/mountinfo.js';
import { sleepMs } from '../linux/sleep.js';
import { hostHooks, runHooksWarning } from '../process/hooks.js';
import { hookState } from './create.js';
import {
  EXEC_FIFO,
  withLock,
  type ContainerRecord,
  type ProcessRef,
  type StateStore,
} from './state-store.js';
import { isInitAlive, processStartTime, statusCheck } from './status.js';
import { flockHolders, type FileLock } from '../linux/flock.js';
import { pausePoint } from '../test-points.js';
import { parseSignal } from './signals.js';
import { loadManager, type Manager } from '../cgroups/index.js';
import { debug, warn } from '../output.js';

const SIGKILL = 9;

/**
 * Read the init's byte from exec.fifo, returning as soon as it is written.
 * The wait (poll on the fifo and a pidfd of the init) also ends when the
 * init dies after `create`, so `start` never waits forever.
 */
function readExecFifo(fifoPath: string, rec: ContainerRecord): boolean {
  const fd = fs.openSync(fifoPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  let pidfd: number | undefined;
  try {
    for (let woken = false; ;) {
      try {
        if (fs.readSync(fd, Buffer.alloc(1), 0, 1, null) === 1) return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      if (!isInitAlive(rec)) return false;
      // Woken with nothing to read (the fifo hung up, the init still there): not a reason to spin.
      if (woken) sleepMs(1);
      // Without a pidfd (kernels before 5.3), look at the init again every 20 ms.
      pidfd ??= pidfdOpen(rec.pid);
      woken = waitReadable(pidfd === undefined ? [fd] : [fd, pidfd], pidfd === undefined ? 20 : 1000);
    }
  } finally {
    fs.closeSync(fd);
    if (pidfd !== undefined) fs.closeSync(pidfd);
  }
}

/**
 * Open exec.fifo: the init, blocked on its write end, then execs the
 * process. `hookCwd`: where poststart hooks run (`run`: the bundle, as runc).
 */
export function startContainer(store: StateStore, id: string, hookCwd?: string): ContainerRecord {
  return withLock(store, id, () => {
    const rec = store.read(id);
    const check = statusCheck(store, rec);
    if (!check.canStart()) {
      if (check.stopped) throw new UserError('cannot start a container that has stopped');
      if (check.status === 'paused') throw new UserError('cannot start a container in the paused state');
      throw new UserError('cannot start an already running container');
    }
    const fifoPath = path.join(store.dir(id), EXEC_FIFO);
    pausePoint('start:locked');
    if (!readExecFifo(fifoPath, rec)) throw new UserError('cannot start a container that has stopped');
    debug(`exec.fifo read: init ${rec.pid} released to exec the process`);
    pausePoint('start:released');
    fs.rmSync(fifoPath, { force: true });
    rec.started = true;
    store.write(rec);
    // The runtime-spec: a failing poststart hook is logged, the container keeps running.
    runHooksWarning(
      'poststart',
      rec.config.hooks?.poststart,
      hookState(rec, 'running', rec.pid),
      hostHooks(hookCwd),
      warn,
    );
    return rec;
  });
}

export function killContainer(store: StateStore, id: string, signal: string, all: boolean): void {
  const rec = store.read(id);
  const sig = parseSignal(signal);
  const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
  if (all && cgroup) {
    // As runc: every process in the container's cgroup, even once the init is gone.
    if (cgroup.exists()) {
      cgroup.signalAll(sig);
      return;
    }
    if (!isInitAlive(rec)) return;
  }
  if (!isInitAlive(rec)) throw new UserError('container not running');
  if (all) {
    for (const pid of containerPids(rec)) {
      try {
        process.kill(pid, sig);
      } catch {}
    }
    return;
  }
  try {
    process.kill(rec.pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') throw new UserError('container not running');
    throw e;
  }
  // A frozen (v1) task acts on SIGKILL only once thawed.
  if (sig === SIGKILL && cgroup && cgroup.freezerState() === 'FROZEN') cgroup.freeze('THAWED');
}

/** Freeze every process of a created or running container. */
export function pauseContainer(store: StateStore, id: string): void {
  withLock(store, id, () => {
    const rec = store.read(id);
    if (!statusCheck(store, rec).canPause()) throw new UserError('container not running');
    freezer(rec).freeze('FROZEN');
  });
}

export function resumeContainer(store: StateStore, id: string): void {
  withLock(store, id, () => {
    const rec = store.read(id);
    if (!statusCheck(store, rec).canResume()) throw new UserError('container not paused');
    freezer(rec).freeze('THAWED');
  });
}

/** The container's cgroup manager, to freeze or thaw it. */
function freezer(rec: ContainerRecord): Manager {
  const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
  if (!cgroup) throw new UserError('cannot toggle freezer: cgroups not configured for container');
  return cgroup;
}

/** Host pids of the container: every process in its cgroup, else in its PID namespace. */
function containerPids(rec: ContainerRecord): number[] {
  const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
  if (cgroup?.exists()) {
    try {
      return [...new Set([rec.pid, ...cgroup.allPids()])];
    } catch {}
  }
  let ns: string;
  try {
    ns = fs.readlinkSync(`/proc/${rec.pid}/ns/pid`);
  } catch {
    return [];
  }
  if (ns === fs.readlinkSync('/proc/self/ns/pid')) return [rec.pid];
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readlinkSync(`/proc/${name}/ns/pid`) === ns) pids.push(Number(name));
    } catch {}
  }
  return pids;
}

/** Wait (polling /proc: the init is not our child) until the init is gone. */
function waitGone(rec: ContainerRecord, timeoutMs: number): boolean {
  const end = Date.now() + timeoutMs;
  while (isInitAlive(rec)) {
    if (Date.now() > end) return false;
    sleepMs(5);
  }
  return true;
}

/**
 * How long `delete --force` waits for the container's lock while a live
 * runts process holds it (a `start`, a slow `create`) before it kills that
 * process and takes over. A lock held for a `create` that is dead is taken
 * over at once.
 */
const FORCE_LOCK_WAIT_MS = 5_000;
/** After that, how long it keeps trying before it gives up (a holder it may not kill). */
const FORCE_LOCK_GIVE_UP_MS = 5_000;

/** `hookCwd`: where poststop hooks run (`run`: the bundle, as runc). */
export function deleteContainer(store: StateStore, id: string, force: boolean, hookCwd?: string): void {
  let lock: FileLock;
  try {
    lock = force ? lockForForcedDelete(store, id) : store.lock(id);
  } catch (e) {
    // runc 1.1: `delete --force` of a container that does not exist succeeds, silently.
    if (force && e instanceof UserError && e.message === 'container does not exist') return;
    throw e;
  }
  try {
    pausePoint('delete:locked');
    const rec = store.readRecord(id);
    if (!rec || rec.creating) {
      // We hold the lock, so its create is over: it died half-way. Such a
      // container does not exist for runc either, but what was made goes.
      removeHalfMade(store, id, rec);
      if (force) return;
      throw new UserError('container does not exist');
    }
    const check = statusCheck(store, rec);
    if (!check.stopped) {
      if (!check.canDelete(force)) {
        throw new UserError(`cannot delete container ${id} that is not stopped: ${check.status}`);
      }
      for (const pid of containerPids(rec)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
      if (cgroup?.exists() && cgroup.freezerState() === 'FROZEN') cgroup.freeze('THAWED');
      if (!waitGone(rec, 10_000)) throw new UserError(`container ${id} did not stop after SIGKILL`);
    }
    pausePoint('delete:killed');
    destroy(store, rec, hookCwd);
  } finally {
    lock.release();
  }
}

function isAlive(p: ProcessRef): boolean {
  return p.pid > 0 && processStartTime(p.pid) === p.startTime;
}

/**
 * The container's lock for `delete --force`, never waited for without
 * bound: a process left by a killed `create` (a clone child that had not
 * exec'd yet inherits the lock's fd) may hold it for ever. Holders that are
 * runts processes are killed once the create is known dead, or after
 * FORCE_LOCK_WAIT_MS for any other holder.
 */
function lockForForcedDelete(store: StateStore, id: string): FileLock {
  const start = Date.now();
  let dir: string | undefined;
  for (;;) {
    const lock = store.tryLock(id);
    if (lock) return lock;
    let rec: ContainerRecord | undefined;
    try {
      rec = store.readRecord(id);
    } catch {}
    const orphaned = rec?.creating !== undefined && !isAlive(rec.creating.creator);
    const waited = Date.now() - start;
    if (orphaned || waited > FORCE_LOCK_WAIT_MS) {
      if (waited > FORCE_LOCK_WAIT_MS + FORCE_LOCK_GIVE_UP_MS) {
        throw new UserError(`container ${id} is locked by another process`);
      }
      try {
        dir ??= fs.realpathSync(store.dir(id));
      } catch {
        continue; // gone: the next tryLock says so
      }
      killRuntsHolders(dir);
    }
    sleepMs(10);
  }
}

/** SIGKILL the runts processes (our own executable, not us) holding the lock on `dir`. */
function killRuntsHolders(dir: string): void {
  const self = fs.readlinkSync('/proc/self/exe');
  for (const pid of flockHolders(dir)) {
    if (pid === process.pid) continue;
    try {
      if (fs.readlinkSync(`/proc/${pid}/exe`) !== self) continue;
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

/** `pid` and its descendants, from /proc/<pid>/task/<tid>/children. */
function withDescendants(pid: number, into: Set<number>): void {
  if (into.has(pid)) return;
  into.add(pid);
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return;
  }
  for (const tid of tids) {
    let children = '';
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    } catch {}
    for (const c of children ? children.split(' ') : []) withDescendants(Number(c), into);
  }
}

/** SIGKILL the live ones of `procs` (pid and start time must match) and all they started; wait until gone. */
function killProcesses(procs: ProcessRef[]): void {
  const pids = new Set<number>();
  for (const p of procs) if (isAlive(p)) withDescendants(p.pid, pids);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  const end = Date.now() + 10_000;
  for (const pid of pids) {
    while (processStartTime(pid) !== undefined && Date.now() < end) sleepMs(5);
  }
}

/**
 * Remove what a `create` that died half-way made, from its intent record:
 * its processes, the cgroups it made (never one that was there before),
 * mounts it left in the rootfs, and the container's directory. Without a
 * record the create made nothing but the directory.
 */
function removeHalfMade(store: StateStore, id: string, rec: ContainerRecord | undefined): void {
  if (rec) {
    killProcesses([{ pid: rec.pid, startTime: rec.pidStartTime }, ...(rec.creating?.helpers ?? [])]);
    killAndRemoveCgroups(rec.creating?.newCgroupPaths, rec.cgroupUnit);
    unmountRootfsLeftovers(rec);
  }
  store.remove(id);
}

/**
 * Kill whatever is left in the container's cgroups, then remove them; a
 * failure is a warning. A systemd unit is stopped (and a failed one reset)
 * even when its cgroup is gone already.
 */
function killAndRemoveCgroups(paths: string[] | undefined, unit?: string): void {
  const cgroup = loadManager(paths, undefined, unit);
  if (!cgroup || !(cgroup.exists() || cgroup.unit)) return;
  try {
    if (cgroup.exists() && cgroup.allPids().length > 0) cgroup.signalAll(SIGKILL);
    cgroup.destroy();
  } catch (e) {
    warn((e as Error).message);
  }
}

/**
 * A container without a mount namespace mounted into its rootfs in the
 * runtime's namespace: unmount those (deepest first), which runc leaves.
 */
function unmountRootfsLeftovers(rec: ContainerRecord): void {
  if (rec.config.linux?.namespaces?.some((n) => n.type === 'mount')) return;
  const prefix = rec.rootfs.endsWith('/') ? rec.rootfs : rec.rootfs + '/';
  const points = readMountinfo()
    .map((m) => m.mountPoint)
    .filter((p) => p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    try {
      umount2(p, MNT_DETACH);
    } catch {}
  }
}

/** Remove what a stopped container still holds, then run poststop hooks (from `hookCwd`). */
export function destroy(store: StateStore, rec: ContainerRecord, hookCwd?: string): void {
  unmountRootfsLeftovers(rec);
  // Without a PID namespace of its own, the container's processes outlive its init: runc kills them here.
  killAndRemoveCgroups(rec.cgroupPaths, rec.cgroupUnit);
  pausePoint('delete:cgroups');
  store.remove(rec.id);
  runHooksWarning(
    'poststop',
    rec.config.hooks?.poststop,
    hookState(rec, 'stopped', 0),
    hostHooks(hookCwd),
    warn,
  );
}
