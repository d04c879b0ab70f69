import { containerId, type CommandContext } from './context.js';
import { StateStore } from '../container/state-store.js';
import { startContainer } from '../container/lifecycle.js';

export function run(ctx: CommandContext): number {
  startContainer(new StateStore(ctx.globals.root), containerId(ctx));
  return 0;
}
