/**
 * `run`: create + start. In the foreground it forwards signals to the
 * container's process, waits for it (it is our child) and exits with its
 * status, 128+signal when it was killed; then deletes it unless --keep.
 * With a terminal and no --console-socket, runts relays the pty itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommandContext } from './context.js';
import type { RunOptions } from './commands.js';
import { StateStore } from '../container/state-store.js';
import { createContainer } from '../container/create.js';
import { deleteContainer, startContainer } from '../container/lifecycle.js';
import { loadBundleConfig } from '../spec/load.js';
import { recvFd, socketPair } from '../linux/socket.js';
import { waitPidAsync } from '../linux/wait.js';
import { PtyRelay } from '../process/pty-relay.js';
import { createOptions } from './create.js';
import { UserError } from '../errors.js';
import { debug } from '../output.js';

const FORWARDED: NodeJS.Signals[] = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGCONT',
];

export async function run(ctx: CommandContext<RunOptions>): Promise<number> {
  const store = new StateStore(ctx.globals.root);
  const opts = createOptions(ctx);
  const detach = ctx.options.detach === true;
  // runc runs from the bundle directory: its hooks do too.
  const bundleDir = path.resolve(opts.bundle);

  let relaySocket: number | undefined;
  // Loaded once for the terminal decision and for create (a large config costs per read).
  opts.spec = loadBundleConfig(opts.bundle);
  if (!detach && !opts.consoleSocket && opts.spec.process?.terminal) {
    const [ours, theirs] = socketPair();
    relaySocket = ours;
    opts.consoleSocketFd = theirs;
  } else if (detach && !opts.consoleSocket && opts.spec.process?.terminal) {
    throw new UserError('cannot allocate tty if runts will detach without setting console socket');
  }

  let pid: number;
  let relay: PtyRelay | undefined;
  try {
    ({ pid } = createContainer(store, opts));
    if (relaySocket !== undefined) relay = new PtyRelay(recvFd(relaySocket).fd);
  } finally {
    for (const fd of [relaySocket, opts.consoleSocketFd]) if (fd !== undefined) fs.closeSync(fd);
  }
  try {
    startContainer(store, opts.id, bundleDir);
  } catch (e) {
    try {
      deleteContainer(store, opts.id, true, bundleDir);
    } catch {}
    // The init is gone (e.g. a startContainer hook failed): stop relaying,
    // or reading our stdin would keep runts waiting for ever (and the
    // terminal raw).
    await relay?.finish(0);
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
  debug(
    `container process ${pid} ended: ${status.signal ? `signal ${status.signal}` : `exit status ${status.code}`}`,
  );
  for (const s of FORWARDED) process.off(s, forward);
  await relay?.finish();
  if (ctx.options.keep !== true) {
    try {
      deleteContainer(store, opts.id, true, bundleDir);
    } catch (e) {
      ctx.log.warn((e as Error).message);
    }
  }
  // A pty read may still wait in libuv's thread pool: do not let it hold us.
  if (relay) process.exit(status.code);
  return status.code;
}
