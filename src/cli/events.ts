/**
 * `runts events [--stats] [--interval D] <id>`, as runc: with --stats one
 * "stats" event and exit; else a "stats" event every interval and an "oom"
 * event at each OOM of the container's memory cgroup, until that cgroup is
 * gone.
 */
import { UserError } from '../errors.js';
import { StateStore } from '../container/state-store.js';
import { containerStatus } from '../container/status.js';
import { loadManager } from '../cgroups/index.js';
import { eventLine, parseGoDuration, runcStats, watchOom } from '../cgroups/events.js';
import type { CommandContext } from './context.js';

export async function run(ctx: CommandContext): Promise<number> {
  const store = new StateStore(ctx.globals.root);
  const id = ctx.args[0];
  const rec = store.read(id);
  const rawInterval = String(ctx.flags.interval ?? '5s');
  let interval: number;
  try {
    interval = parseGoDuration(rawInterval);
  } catch {
    throw new UserError(`invalid value "${rawInterval}" for flag -interval: parse error`);
  }
  if (interval <= 0) throw new UserError('duration interval must be greater than 0');
  if (containerStatus(store, rec) === 'stopped') throw new UserError(`container with id ${id} is not running`);
  const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
  if (!cgroup) throw new UserError('container has no cgroups');

  const stats = () => {
    try {
      return runcStats(cgroup.stats());
    } catch (e) {
      throw new UserError(`unable to get container cgroup stats: ${(e as Error).message}`);
    }
  };
  const out = (line: string) => process.stdout.write(line);

  if (ctx.flags.stats === true) {
    out(eventLine('stats', id, stats()));
    return 0;
  }

  const memDir = cgroup.memoryPath();
  if (!memDir) throw new UserError('memory controller missing');
  return await new Promise<number>((resolve, reject) => {
    let stop: () => void = () => {};
    const timer = setInterval(() => {
      try {
        out(eventLine('stats', id, stats()));
      } catch (e) {
        ctx.log.error((e as Error).message);
      }
    }, interval);
    try {
      stop = watchOom(
        memDir,
        cgroup.driver === 'cgroupfs-v2' ? 2 : 1,
        () => out(eventLine('oom', id)),
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
