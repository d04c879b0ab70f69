import type { CommandContext } from './context.js';
import { StateStore } from '../container/state-store.js';
import { killContainer } from '../container/lifecycle.js';

export function run(ctx: CommandContext): number {
  killContainer(new StateStore(ctx.globals.root), ctx.args[0], ctx.args[1] ?? 'SIGTERM', ctx.flags.all === true);
  return 0;
}
