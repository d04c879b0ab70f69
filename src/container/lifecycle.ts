/**
 * start, kill and delete: the lifecycle operations on an existing container,
 * each under the container's lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { MNT_DETACH, umount2 } from '../linux/mount.js';
import { hostHooks, runHooks, type Hook } from './hooks.js';
import { hookState } from './create.js';
import { EXEC_FIFO, type ContainerRecord, type StateStore } from './state-store.js';
import { containerStatus, isInitAlive } from './status.js';
import { parseSignal } from './signals.js';
import { loadManager } from '../cgroups/index.js';
import { warn } from '../output.js';

const SIGKILL = 9;

type Spec = { hooks?: Record<string, Hook[] | undefined> };

/**
 * Read the init's byte from exec.fifo. Non-blocking, polling the init: an
 * init that died after `create` must not leave `start` waiting forever.
 */
function readExecFifo(fifoPath: string, rec: ContainerRecord): boolean {
  const fd = fs.openSync(fifoPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const sab = new Int32Array(new SharedArrayBuffer(4));
  try {
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      try {
        if (fs.readSync(fd, Buffer.alloc(1), 0, 1, null) === 1) return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      if (!isInitAlive(rec)) return false;
      Atomics.wait(sab, 0, 0, wait);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Open exec.fifo: the init, blocked on its write end, then execs the
 * process. `hookCwd`: where poststart hooks run (`run`: the bundle, as runc).
 */
export function startContainer(store: StateStore, id: string, hookCwd?: string): ContainerRecord {
  const lock = store.lock(id);
  try {
    const rec = store.read(id);
    const status = containerStatus(store, rec);
    if (status === 'stopped') throw new UserError('cannot start a container that has stopped');
    if (status === 'paused') throw new UserError('cannot start a container in the paused state');
    if (status !== 'created') throw new UserError('cannot start an already running container');
    const fifoPath = path.join(store.dir(id), EXEC_FIFO);
    if (!readExecFifo(fifoPath, rec)) throw new UserError('cannot start a container that has stopped');
    fs.rmSync(fifoPath, { force: true });
    rec.started = true;
    store.write(rec);
    const spec = rec.config as Spec;
    try {
      runHooks('poststart', spec.hooks?.poststart, hookState(rec, 'running', rec.pid), hostHooks(hookCwd));
    } catch (e) {
      // The runtime-spec: a failing poststart hook is logged, the container keeps running.
      warn((e as Error).message);
    }
    return rec;
  } finally {
    lock.release();
  }
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
  const lock = store.lock(id);
  try {
    const rec = store.read(id);
    const status = containerStatus(store, rec);
    if (status !== 'running' && status !== 'created') throw new UserError('container not running');
    const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
    if (!cgroup) throw new UserError('cannot toggle freezer: cgroups not configured for container');
    cgroup.freeze('FROZEN');
  } finally {
    lock.release();
  }
}

export function resumeContainer(store: StateStore, id: string): void {
  const lock = store.lock(id);
  try {
    const rec = store.read(id);
    if (containerStatus(store, rec) !== 'paused') throw new UserError('container not paused');
    const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
    if (!cgroup) throw new UserError('cannot toggle freezer: cgroups not configured for container');
    cgroup.freeze('THAWED');
  } finally {
    lock.release();
  }
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
  const sab = new Int32Array(new SharedArrayBuffer(4));
  while (isInitAlive(rec)) {
    if (Date.now() > end) return false;
    Atomics.wait(sab, 0, 0, 5);
  }
  return true;
}

/** `hookCwd`: where poststop hooks run (`run`: the bundle, as runc). */
export function deleteContainer(store: StateStore, id: string, force: boolean, hookCwd?: string): void {
  const lock = store.lock(id);
  try {
    let rec: ContainerRecord;
    try {
      rec = store.read(id);
    } catch (e) {
      // A directory without a state file is a half-made container: remove it.
      store.remove(id);
      throw e;
    }
    const status = containerStatus(store, rec);
    if (status !== 'stopped') {
      if (status !== 'created' && !force) {
        throw new UserError(`cannot delete container ${id} that is not stopped: ${status}`);
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
    destroy(store, rec, hookCwd);
  } finally {
    lock.release();
  }
}

/**
 * A container without a mount namespace mounted into its rootfs in the
 * runtime's namespace: unmount those (deepest first), which runc leaves.
 */
function unmountRootfsLeftovers(rec: ContainerRecord): void {
  const spec = rec.config as { linux?: { namespaces?: Array<{ type: string }> } };
  if (spec.linux?.namespaces?.some((n) => n.type === 'mount')) return;
  const prefix = rec.rootfs.endsWith('/') ? rec.rootfs : rec.rootfs + '/';
  const points = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && p.startsWith(prefix))
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
  const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
  // A systemd unit is stopped (and a failed one reset) even when its cgroup is gone already.
  if (cgroup && (cgroup.exists() || cgroup.unit)) {
    try {
      // Without a PID namespace of its own, the container's processes outlive its init: runc kills them here.
      if (cgroup.exists() && cgroup.allPids().length > 0) cgroup.signalAll(SIGKILL);
      cgroup.destroy();
    } catch (e) {
      warn((e as Error).message);
    }
  }
  store.remove(rec.id);
  const spec = rec.config as Spec;
  try {
    runHooks('poststop', spec.hooks?.poststop, hookState(rec, 'stopped', 0), hostHooks(hookCwd));
  } catch (e) {
    warn((e as Error).message);
  }
}
