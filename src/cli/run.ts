/**
 * `run`: create + start. In the foreground it forwards signals to the
 * container's process, waits for it (it is our child) and exits with its
 * status, 128+signal when it was killed; then deletes it unless --keep.
 */
import type { CommandContext } from './context.js';
import { StateStore } from '../container/state-store.js';
import { createContainer } from '../container/create.js';
import { deleteContainer, startContainer } from '../container/lifecycle.js';
import { waitPidAsync } from '../linux/wait.js';
import { createOptions } from './create.js';

const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

export async function run(ctx: CommandContext): Promise<number> {
  const store = new StateStore(ctx.globals.root);
  const opts = createOptions(ctx);
  const detach = ctx.flags.detach === true;
  const { pid } = createContainer(store, opts);
  try {
    startContainer(store, opts.id);
  } catch (e) {
    try {
      deleteContainer(store, opts.id, true);
    } catch {}
    throw e;
  }
  if (detach) return 0;

  const forward = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {}
  };
  for (const s of FORWARDED) process.on(s, forward);
  const status = await waitPidAsync(pid);
  for (const s of FORWARDED) process.off(s, forward);
  if (ctx.flags.keep !== true) {
    try {
      deleteContainer(store, opts.id, true);
    } catch (e) {
      ctx.log.warn((e as Error).message);
    }
  }
  return status.code;
}
