/** `runts resume <id>`: thaw a paused container. */
import { containerId, type CommandContext } from './context.js';
import { StateStore } from '../container/state-store.js';
import { resumeContainer } from '../container/lifecycle.js';

export function run(ctx: CommandContext): number {
  if (ctx.globals.rootlessCgroups)
    ctx.log.warn("runts resume may fail if you don't have the full access to cgroups");
  resumeContainer(new StateStore(ctx.globals.root), containerId(ctx));
  return 0;
}
