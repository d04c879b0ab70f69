/**
 * start, kill and delete: the lifecycle operations on an existing container,
 * each under the container's lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { runHooks, type Hook } from './hooks.js';
import { hookState } from './create.js';
import { EXEC_FIFO, type ContainerRecord, type StateStore } from './state-store.js';
import { containerStatus, isInitAlive } from './status.js';
import { parseSignal } from './signals.js';

type Spec = { hooks?: Record<string, Hook[] | undefined> };

/** Open exec.fifo: the init, blocked on its write end, then execs the process. */
export function startContainer(store: StateStore, id: string): ContainerRecord {
  const lock = store.lock(id);
  try {
    const rec = store.read(id);
    const status = containerStatus(store, rec);
    if (status === 'stopped') throw new UserError('cannot start a container that has stopped');
    if (status !== 'created') throw new UserError('cannot start an already running container');
    const fifoPath = path.join(store.dir(id), EXEC_FIFO);
    const fd = fs.openSync(fifoPath, fs.constants.O_RDONLY);
    let n = 0;
    try {
      n = fs.readSync(fd, Buffer.alloc(1), 0, 1, null);
    } finally {
      fs.closeSync(fd);
    }
    if (n !== 1) throw new UserError('cannot start a container that has stopped');
    fs.rmSync(fifoPath, { force: true });
    rec.started = true;
    store.write(rec);
    const spec = rec.config as Spec;
    try {
      runHooks('poststart', spec.hooks?.poststart, hookState(rec, 'running', rec.pid));
    } catch (e) {
      // The runtime-spec: a failing poststart hook is logged, the container keeps running.
      process.stderr.write(`runts: warning: ${(e as Error).message}\n`);
    }
    return rec;
  } finally {
    lock.release();
  }
}

export function killContainer(store: StateStore, id: string, signal: string, all: boolean): void {
  const rec = store.read(id);
  const sig = parseSignal(signal);
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
}

/** Host pids of the container: every process in its PID namespace (cgroups later). */
function containerPids(rec: ContainerRecord): number[] {
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

export function deleteContainer(store: StateStore, id: string, force: boolean): void {
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
      if (!waitGone(rec, 10_000)) throw new UserError(`container ${id} did not stop after SIGKILL`);
    }
    destroy(store, rec);
  } finally {
    lock.release();
  }
}

/** Remove what a stopped container still holds, then run poststop hooks. */
export function destroy(store: StateStore, rec: ContainerRecord): void {
  for (const dir of rec.cgroupPaths ?? []) {
    try {
      fs.rmdirSync(dir);
    } catch {}
  }
  store.remove(rec.id);
  const spec = rec.config as Spec;
  try {
    runHooks('poststop', spec.hooks?.poststop, hookState(rec, 'stopped', 0));
  } catch (e) {
    process.stderr.write(`runts: warning: ${(e as Error).message}\n`);
  }
}
