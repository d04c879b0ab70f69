/**
 * `runts ps [-f table|json] <id> [ps options]`, as runc: json is the list of
 * the container's host pids (from its cgroup); table runs `ps` (default
 * `-ef`) and keeps its header and the lines whose PID is the container's.
 */
import { UserError } from '../errors.js';
import { StateStore } from '../container/state-store.js';
import { containerProcesses, psTable } from '../container/processes.js';
import type { CommandContext } from './context.js';
import type { PsOptions } from './commands.js';
import { goJson } from '../json.js';
import { writeStdout } from '../output.js';

export function run(ctx: CommandContext<PsOptions>): number {
  const [id = '', ...psArgs] = ctx.args;
  if (ctx.globals.rootlessCgroups)
    ctx.log.warn("runts ps may fail if you don't have the full access to cgroups");
  const pids = containerProcesses(new StateStore(ctx.globals.root), id);
  switch (ctx.options.format) {
    case 'table':
      writeStdout(psTable(pids, psArgs.length > 0 ? psArgs : ['-ef']));
      return 0;
    case 'json':
      // Go encodes an empty (nil) slice as null.
      writeStdout(goJson(pids.length > 0 ? pids : null) + '\n');
      return 0;
    default:
      throw new UserError('invalid format option');
  }
}
