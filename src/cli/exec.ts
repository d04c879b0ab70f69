/**
 * `runts exec [flags] <id> <command> [args...]` and `runts exec --process
 * FILE <id>`: run a new process in a created or running container, as runc
 * does (container/exec-process.ts builds and checks it). In the
 * foreground, signals are forwarded, a terminal without --console-socket
 * is relayed to runts's stdio, and runts exits with the process status
 * (128+signal when killed). Every failure exits 255, as runc's does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { containerId, type CommandContext } from './context.js';
import type { ExecOptions } from './commands.js';
import { UserError } from '../errors.js';
import { StateStore } from '../container/state-store.js';
import { prepareExec, startPreparedExec, type ExecRequest } from '../container/exec-process.js';
import { ExecStartError } from '../process/spawn-exec.js';
import { PtyRelay } from '../process/pty-relay.js';
import { writeFileAtomic } from '../linux/fs.js';
import { waitPidAsync } from '../linux/wait.js';

/** runc forwards these to a foreground process (SIGWINCH only resizes its terminal). */
const FORWARDED: NodeJS.Signals[] = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGCONT',
];

export async function run(ctx: CommandContext<ExecOptions>): Promise<number> {
  try {
    return await execCommand(ctx);
  } catch (e) {
    let message = e instanceof Error ? e.message : String(e);
    if (e instanceof ExecStartError) message = `unable to start container process: ${message}`;
    throw new UserError(`exec failed: ${message}`, 255);
  }
}

/** The flags as an exec request: --process, or the changes to the container's process. */
function execRequest(ctx: CommandContext<ExecOptions>, args: string[]): ExecRequest {
  const o = ctx.options;
  return {
    process: o.process
      ? { file: o.process }
      : {
          args,
          cwd: o.cwd,
          env: o.env ?? [],
          tty: o.tty === true,
          user: o.user,
          additionalGids: o.additionalGids ?? [],
          caps: o.cap ?? [],
          noNewPrivileges: o.noNewPrivs,
          apparmorProfile: o.apparmor,
          selinuxLabel: o.processLabel,
        },
    ignorePaused: o.ignorePaused === true,
    detach: o.detach === true,
    consoleSocket: o.consoleSocket,
    pidfdSocket: o.pidfdSocket,
    preserveFds: o.preserveFds,
    cgroups: o.cgroup ?? [],
    rootlessCgroups: ctx.globals.rootlessCgroups,
    warn: (msg) => {
      ctx.log.warn(msg);
    },
  };
}

async function execCommand(ctx: CommandContext<ExecOptions>): Promise<number> {
  const [, ...args] = ctx.args;
  const request = execRequest(ctx, args);
  const prepared = prepareExec(new StateStore(ctx.globals.root), containerId(ctx), request);
  const { detach } = request;
  const pidFile = ctx.options.pidFile;

  // Forwarders are in place before the process exists: a signal that comes
  // while it starts is caught and passed on once its pid is known.
  let pid = 0;
  const forward = (sig: NodeJS.Signals) => {
    try {
      if (pid > 0) process.kill(pid, sig);
    } catch {}
  };
  if (!detach) for (const s of FORWARDED) process.on(s, forward);
  try {
    const started = startPreparedExec(prepared);
    pid = started.pid;
    if (pidFile) {
      try {
        writeFileAtomic(path.resolve(pidFile), String(pid));
      } catch (e) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
        throw e;
      }
    }
    if (detach) return 0;

    const { master } = started;
    const relay = master !== undefined ? new PtyRelay(master) : undefined;
    const st = await waitPidAsync(pid);
    if (relay && master !== undefined) {
      await relay.finish();
      try {
        fs.closeSync(master);
      } catch {}
      // stdin was read for the relay: let the event loop end.
      process.stdin.destroy();
    }
    return st.code;
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
}
