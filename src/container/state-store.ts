/**
 * Container records under --root: `<root>/<id>/state.json`, written
 * atomically (temp file + rename) so a reader never sees a torn file, and a
 * per-container lock (flock on the container's directory) taken by every
 * command that changes a container.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseJson, stringifyJson } from '../json.js';
import { UserError } from '../errors.js';
import { FileLock } from '../linux/flock.js';
import { writeFileAtomic } from '../linux/fs.js';
import { validateContainerId } from './id.js';
import type { Annotations, Spec } from '../spec/types.gen.js';

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** What runts keeps about a container between invocations. */
export interface ContainerRecord {
  ociVersion: string;
  id: string;
  /** The init's pid in the host PID namespace (0 once known dead). */
  pid: number;
  /** Field 22 of /proc/<pid>/stat when created: tells a recycled pid apart. */
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  /** RFC 3339 with nanoseconds, as runc prints it. */
  created: string;
  owner: string;
  annotations?: Annotations | undefined;
  /**
   * The validated config.json, for later commands (hooks, update, delete);
   * while `creating`, only its linux.namespaces (what removal reads).
   */
  config: RecordedConfig;
  /** Set once `start` has run, or by `run`. */
  started?: boolean;
  /** Cgroup directories created for the container, to remove on delete. */
  cgroupPaths?: string[];
  /** The systemd unit holding the cgroup (--systemd-cgroup). */
  cgroupUnit?: string;
  /** Created with --no-new-keyring: `exec` joins no session keyring either (runc's NoNewKeyring). */
  noNewKeyring?: boolean;
  /**
   * Present while `create` is making the container, written before it makes
   * anything (cgroups, processes): what `delete --force` must remove when
   * that create is killed half-way. `state`, `list` and every other command
   * treat such a record as runc treats a container without state.json: it
   * does not exist.
   */
  creating?: CreatingIntent;
}

/** A config as a record keeps it: the intent of a create keeps only part of it (its ociVersion is the record's). */
export type RecordedConfig = Partial<Spec>;

/** A process identified across pid reuse: its pid and its start time. */
export interface ProcessRef {
  pid: number;
  startTime: string;
}

export interface CreatingIntent {
  /** The `runts create` (or `run`) process: while it lives, the container is being made. */
  creator: ProcessRef;
  /** The cgroup directories create makes (never one that existed before). */
  newCgroupPaths: string[];
  /** Processes create started besides the init (the middle process of a nested clone). */
  helpers: ProcessRef[];
}

const STATE_FILE = 'state.json';
export const EXEC_FIFO = 'exec.fifo';

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    validateContainerId(id);
    return path.join(this.root, id);
  }

  exists(id: string): boolean {
    return fs.existsSync(path.join(this.dir(id), STATE_FILE));
  }

  /** Read a container's record; `container does not exist` when absent or still being created. */
  read(id: string): ContainerRecord {
    const rec = this.readRecord(id);
    if (!rec || rec.creating) throw new UserError('container does not exist');
    return rec;
  }

  /** The record as stored, half-made ones included; undefined without a state file. */
  readRecord(id: string): ContainerRecord | undefined {
    const file = path.join(this.dir(id), STATE_FILE);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      // ENAMETOOLONG: a valid ID (up to 1024 chars) longer than NAME_MAX can
      // never have been created.
      if (['ENOENT', 'ENOTDIR', 'ENAMETOOLONG'].includes((e as NodeJS.ErrnoException).code ?? ''))
        return undefined;
      throw e;
    }
    try {
      // Written by write() below: trusted as it was written.
      return parseJson(text).value as ContainerRecord;
    } catch {
      throw new UserError(`corrupt state file ${file}`);
    }
  }

  /**
   * Make the container's directory, failing if it exists (two `create`s of
   * one ID: exactly one wins, as mkdir is atomic).
   */
  createDir(id: string): string {
    const dir = this.dir(id);
    try {
      fs.mkdirSync(this.root, { recursive: true, mode: 0o711 });
    } catch (e) {
      throw this.rootError(e);
    }
    try {
      fs.mkdirSync(dir, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw new UserError(`container with id exists: ${id}`);
      throw this.rootError(e);
    }
    return dir;
  }

  /** Write the record atomically. */
  write(rec: ContainerRecord): void {
    // stringifyJson: the config's 64-bit integers stay exact (and bigints do not throw).
    writeFileAtomic(path.join(this.dir(rec.id), STATE_FILE), stringifyJson(rec), 0o600);
  }

  /** Remove the container's directory and everything in it. */
  remove(id: string): void {
    fs.rmSync(this.dir(id), { recursive: true, force: true });
  }

  /**
   * A state root this user may not use: say which, and where a non-root
   * user's state goes (the default root is root's own).
   */
  private rootError(e: unknown): unknown {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES' || (process.geteuid?.() ?? 0) === 0) return e;
    return new UserError(
      `permission denied on the state directory ${this.root}: as a non-root user, set XDG_RUNTIME_DIR ` +
        `(state in $XDG_RUNTIME_DIR/runts) or give --root a directory of yours`,
      1,
      { cause: e },
    );
  }

  /** IDs of every container under the root, sorted. */
  list(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw this.rootError(e);
    }
    return names.filter((n) => fs.existsSync(path.join(this.root, n, STATE_FILE))).sort();
  }

  /**
   * Lock a container against concurrent changes. Fails with `container does
   * not exist` when its directory is gone.
   */
  lock(id: string): FileLock {
    const lock = this.takeLock(id, true);
    // A waiting acquire returns a lock or throws.
    if (!lock) throw new Error(`lock of container ${id} not taken`);
    return lock;
  }

  /** As lock, but undefined at once when another process holds it. */
  tryLock(id: string): FileLock | undefined {
    return this.takeLock(id, false);
  }

  private takeLock(id: string, wait: boolean): FileLock | undefined {
    try {
      return wait
        ? FileLock.acquire(this.dir(id), 'exclusive')
        : FileLock.tryAcquire(this.dir(id), 'exclusive');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new UserError('container does not exist');
      }
      throw e;
    }
  }
}

/** Run `fn` under the container's lock (StateStore.lock), released whatever `fn` does. */
export function withLock<T>(store: StateStore, id: string, fn: () => T): T {
  const lock = store.lock(id);
  try {
    return fn();
  } finally {
    lock.release();
  }
}
