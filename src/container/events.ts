/**
 * A container's events, as runc's `events`: its cgroup stats once or every
 * interval, and an OOM event at each OOM of its memory cgroup, until that
 * cgroup is gone.
 */
import { UserError } from '../errors.js';
import { loadManager, type Manager } from '../cgroups/index.js';
import { eventLine, runcStats, watchOom } from '../cgroups/events.js';
import type { ContainerRecord, StateStore } from './state-store.js';
import { statusCheck } from './status.js';

export interface EventsOptions {
  /** Milliseconds between stats events. */
  intervalMs: number;
  /** One stats event, then return. */
  statsOnly: boolean;
  /** Where each event line goes. */
  out: (line: string) => void;
  /** A stats event that could not be made while watching (the watch goes on). */
  onError: (message: string) => void;
}

/** The container's cgroup, for a container that is not stopped. */
function liveCgroup(store: StateStore, rec: ContainerRecord): Manager {
  if (statusCheck(store, rec).stopped) throw new UserError(`container with id ${rec.id} is not running`);
  const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
  if (!cgroup) throw new UserError('container has no cgroups');
  return cgroup;
}

/**
 * The container's events: its record is read at once (`container does not
 * exist` before any option is looked at, as runc), the watch starts with
 * `watch`, which resolves (with 0) once the container's memory cgroup is
 * gone, or after one event with statsOnly.
 */
export function containerEvents(
  store: StateStore,
  id: string,
): { watch: (o: EventsOptions) => Promise<number> } {
  const rec = store.read(id);
  return { watch: (o) => watchEvents(store, rec, o) };
}

async function watchEvents(store: StateStore, rec: ContainerRecord, o: EventsOptions): Promise<number> {
  const { id } = rec;
  const cgroup = liveCgroup(store, rec);
  const stats = () => {
    try {
      return runcStats(cgroup.stats());
    } catch (e) {
      throw new UserError(`unable to get container cgroup stats: ${(e as Error).message}`);
    }
  };
  if (o.statsOnly) {
    o.out(eventLine('stats', id, stats()));
    return 0;
  }

  const memDir = cgroup.memoryPath();
  if (!memDir) throw new UserError('memory controller missing');
  return await new Promise<number>((resolve, reject) => {
    let stop: () => void = () => {};
    const timer = setInterval(() => {
      try {
        o.out(eventLine('stats', id, stats()));
      } catch (e) {
        o.onError((e as Error).message);
      }
    }, o.intervalMs);
    try {
      stop = watchOom(
        memDir,
        cgroup.driver === 'cgroupfs-v2' ? 2 : 1,
        () => {
          o.out(eventLine('oom', id));
        },
        () => {
          clearInterval(timer);
          stop();
          // A read of the eventfd may still sit in libuv's pool: do not wait for it.
          process.stdout.write('', () => process.exit(0));
          resolve(0);
        },
      );
    } catch (e) {
      clearInterval(timer);
      reject(new UserError((e as Error).message));
    }
  });
}
