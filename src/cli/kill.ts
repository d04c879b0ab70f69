import { containerId, type CommandContext } from './context.js';
import type { KillOptions } from './commands.js';
import { debug } from '../output.js';
import { StateStore } from '../container/state-store.js';
import { killContainer } from '../container/lifecycle.js';

export function run(ctx: CommandContext<KillOptions>): number {
  debug(
    `sending ${ctx.args[1] ?? 'SIGTERM'} to ${ctx.options.all === true ? 'every process of the container' : 'the init'}`,
  );
  killContainer(
    new StateStore(ctx.globals.root),
    containerId(ctx),
    ctx.args[1] ?? 'SIGTERM',
    ctx.options.all === true,
  );
  return 0;
}
