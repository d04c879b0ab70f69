import { containerId, type CommandContext } from './context.js';
import type { DeleteOptions } from './commands.js';
import { debug } from '../output.js';
import { StateStore } from '../container/state-store.js';
import { deleteContainer } from '../container/lifecycle.js';

export function run(ctx: CommandContext<DeleteOptions>): number {
  debug(
    `deleting${ctx.options.force === true ? ' (forced)' : ''}: processes, cgroups, state, then poststop hooks`,
  );
  deleteContainer(new StateStore(ctx.globals.root), containerId(ctx), ctx.options.force === true);
  return 0;
}
