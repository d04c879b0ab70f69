/** `runts pause <id>`: freeze every process of the container. */
import type { CommandContext } from './context.js';
import { StateStore } from '../container/state-store.js';
import { pauseContainer } from '../container/lifecycle.js';

export function run(ctx: CommandContext): number {
  pauseContainer(new StateStore(ctx.globals.root), ctx.args[0]);
  return 0;
}
