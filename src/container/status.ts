/**
 * A container's status, derived from the kernel, never stored: the init's
 * pid must be alive with the start time recorded at create (a recycled pid
 * is another process), and the exec fifo exists until `start`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EXEC_FIFO, type ContainerRecord, type StateStore } from './state-store.js';
import type { RuncState, RuncStatus } from '../spec/types.gen.js';

/** Field 22 (starttime) of /proc/<pid>/stat, or undefined if no such process. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); starttime is field 22.
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

export function isInitAlive(rec: ContainerRecord): boolean {
  return rec.pid > 0 && processStartTime(rec.pid) === rec.pidStartTime;
}

export function containerStatus(store: StateStore, rec: ContainerRecord): RuncStatus {
  if (!isInitAlive(rec)) return 'stopped';
  // Paused before created, as runc: a created container can be paused too.
  if (isFrozen(rec)) return 'paused';
  if (!rec.started && fs.existsSync(path.join(store.dir(rec.id), EXEC_FIFO))) return 'created';
  return 'running';
}

/**
 * What a container in a given status allows, so that commands ask the
 * question they mean instead of comparing status strings (runc's
 * checks in its commands, the same answers).
 */
export class StatusCheck {
  constructor(readonly status: RuncStatus) {}

  get stopped(): boolean {
    return this.status === 'stopped';
  }

  /** `start`: only a created container (its init waits on exec.fifo). */
  canStart(): boolean {
    return this.status === 'created';
  }

  /** `exec`: a created or running container; a paused one only when asked to ignore that. */
  canExec(ignorePaused: boolean): boolean {
    return (
      this.status === 'created' || this.status === 'running' || (this.status === 'paused' && ignorePaused)
    );
  }

  /** `pause`: a created or running container (runc freezes a created one too). */
  canPause(): boolean {
    return this.status === 'created' || this.status === 'running';
  }

  canResume(): boolean {
    return this.status === 'paused';
  }

  /** `delete` without --force: a stopped container, or a created one (its init is killed). */
  canDelete(force: boolean): boolean {
    return force || this.status === 'stopped' || this.status === 'created';
  }

  /** A signal to the init, `update`, `events`: anything whose init lives. */
  canKill(): boolean {
    return !this.stopped;
  }
}

/** The container's status and what it allows. */
export function statusCheck(store: StateStore, rec: ContainerRecord): StatusCheck {
  return new StatusCheck(containerStatus(store, rec));
}

function isFrozen(rec: ContainerRecord): boolean {
  for (const dir of rec.cgroupPaths ?? []) {
    try {
      if (fs.readFileSync(path.join(dir, 'freezer.state'), 'utf8').trim() === 'FROZEN') return true;
    } catch {}
    try {
      if (fs.readFileSync(path.join(dir, 'cgroup.freeze'), 'utf8').trim() === '1') return true;
    } catch {}
  }
  return false;
}

/** Go's time.RFC3339Nano drops trailing zeros of the fraction (and a bare "."). */
function rfc3339Nano(time: string): string {
  return time.replace(/\.(\d*?)0+(?=Z|[+-]\d\d:\d\d$)/, (_m, digits: string) => (digits ? `.${digits}` : ''));
}

/**
 * The document `runts state` prints: runc's fields in runc's order (its
 * struct puts annotations, omitted when empty, before owner), pid 0 when
 * stopped, annotation keys sorted as Go sorts map keys.
 */
export function stateDocument(store: StateStore, rec: ContainerRecord): RuncState {
  const status = containerStatus(store, rec);
  const annotations = Object.entries(rec.annotations ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    ociVersion: rec.ociVersion,
    id: rec.id,
    pid: status === 'stopped' ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rfc3339Nano(rec.created),
    ...(annotations.length > 0 ? { annotations: Object.fromEntries(annotations) } : {}),
    owner: rec.owner,
  };
}
