/** `runts pause <id>`: freeze every process of the container. */
import { containerId, type CommandContext } from './context.js';
import { StateStore } from '../container/state-store.js';
import { pauseContainer } from '../container/lifecycle.js';

export function run(ctx: CommandContext): number {
  if (ctx.globals.rootlessCgroups)
    ctx.log.warn("runts pause may fail if you don't have the full access to cgroups");
  pauseContainer(new StateStore(ctx.globals.root), containerId(ctx));
  return 0;
}
