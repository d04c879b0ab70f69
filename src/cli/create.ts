import type { CommandContext } from './context.js';
import { StateStore } from '../container/state-store.js';
import { createContainer, type CreateOptions } from '../container/create.js';

/** runc's create/run flags → create options (LISTEN_FDS adds to --preserve-fds). */
export function createOptions(ctx: CommandContext): CreateOptions {
  const listenFds = Number(process.env.LISTEN_FDS ?? 0) || 0;
  return {
    id: ctx.args[0],
    bundle: (ctx.flags.bundle as string | undefined) || process.cwd(),
    pidFile: ctx.flags['pid-file'] as string | undefined,
    consoleSocket: ctx.flags['console-socket'] as string | undefined,
    noPivot: ctx.flags['no-pivot'] === true,
    noNewKeyring: ctx.flags['no-new-keyring'] === true,
    preserveFds: ((ctx.flags['preserve-fds'] as number | undefined) ?? 0) + listenFds,
    warn: (msg) => ctx.log.warn(msg),
    systemdCgroup: ctx.globals.systemdCgroup,
  };
}

export function run(ctx: CommandContext): number {
  createContainer(new StateStore(ctx.globals.root), createOptions(ctx));
  return 0;
}
