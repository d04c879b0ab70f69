import { containerId, type CommandContext } from './context.js';
import type { CreateOptions as CreateFlags } from './commands.js';
import { StateStore } from '../container/state-store.js';
import { createContainer, type CreateOptions } from '../container/create.js';

/** runc's create/run flags → create options (LISTEN_FDS adds to --preserve-fds). */
export function createOptions(ctx: CommandContext<CreateFlags>): CreateOptions {
  const listenFds = Number(process.env.LISTEN_FDS ?? 0) || 0;
  return {
    id: containerId(ctx),
    bundle: ctx.options.bundle || process.cwd(),
    pidFile: ctx.options.pidFile,
    consoleSocket: ctx.options.consoleSocket,
    noPivot: ctx.options.noPivot === true,
    noNewKeyring: ctx.options.noNewKeyring === true,
    preserveFds: ctx.options.preserveFds + listenFds,
    warn: (msg) => ctx.log.warn(msg),
    systemdCgroup: ctx.globals.systemdCgroup,
    rootlessCgroups: ctx.globals.rootlessCgroups,
  };
}

export function run(ctx: CommandContext<CreateFlags>): number {
  createContainer(new StateStore(ctx.globals.root), createOptions(ctx));
  return 0;
}
