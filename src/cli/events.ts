/**
 * `runts events [--stats] [--interval D] <id>`, as runc: with --stats one
 * "stats" event and exit; else a "stats" event every interval and an "oom"
 * event at each OOM of the container's memory cgroup, until that cgroup is
 * gone (container/events.ts).
 */
import { UserError } from '../errors.js';
import { StateStore } from '../container/state-store.js';
import { containerEvents } from '../container/events.js';
import { parseGoDuration } from '../cgroups/events.js';
import { containerId, type CommandContext } from './context.js';
import type { EventsOptions } from './commands.js';

export async function run(ctx: CommandContext<EventsOptions>): Promise<number> {
  const store = new StateStore(ctx.globals.root);
  const events = containerEvents(store, containerId(ctx));
  const rawInterval = ctx.options.interval;
  let interval: number;
  try {
    interval = parseGoDuration(rawInterval);
  } catch {
    throw new UserError(`invalid value "${rawInterval}" for flag -interval: parse error`);
  }
  if (interval <= 0) throw new UserError('duration interval must be greater than 0');
  return await events.watch({
    intervalMs: interval,
    statsOnly: ctx.options.stats === true,
    out: (line) => process.stdout.write(line),
    onError: (message) => {
      ctx.log.error(message);
    },
  });
}
