/**
 * `runts exec [flags] <id> <command> [args...]` and `runts exec --process
 * FILE <id>`: run a new process in a created or running container, as runc
 * does. The process is the container's config.json process with the flags
 * applied (or the --process file), with the container's capabilities,
 * rlimits, no_new_privs, LSM labels and umask as defaults. In the
 * foreground, signals are forwarded, a terminal without --console-socket
 * is relayed to runts's stdio, and runts exits with the process status
 * (128+signal when killed). Every failure exits 255, as runc's does.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommandContext } from './context.js';
import { UserError } from '../errors.js';
import { UsageError } from './argv.js';
import { StateStore, type ContainerRecord } from '../container/state-store.js';
import { containerStatus, isInitAlive } from '../container/status.js';
import { ExecStartError, startExec } from '../process/exec.js';
import { PtyRelay } from '../process/pty-relay.js';
import { writeFileAtomic } from '../linux/fs.js';
import { waitPidAsync } from '../linux/wait.js';
import { selinuxEnabled } from '../init/lsm.js';
import { checkCapabilities } from '../process/capabilities.js';
import { describeIssues, processIssues } from '../spec/validate.js';
import { parseSpecJson } from '../spec/load.js';

type Process = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Spec = {
  process?: Process;
  annotations?: Record<string, string>;
  linux?: { namespaces?: Array<{ type: string }>; seccomp?: unknown; personality?: unknown };
};

/** runc forwards these to a foreground process (SIGWINCH only resizes its terminal). */
const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGCONT'];

export async function run(ctx: CommandContext): Promise<number> {
  try {
    return await execCommand(ctx);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    let message = e instanceof Error ? e.message : String(e);
    if (e instanceof ExecStartError) message = `unable to start container process: ${message}`;
    throw new UserError(`exec failed: ${message}`, 255);
  }
}

function validateProcessSpec(p: Process | undefined): asserts p is Process {
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new Error('process property must not be empty');
  if (!p.cwd) throw new Error('Cwd property must not be empty');
  if (typeof p.cwd !== 'string' || !path.isAbsolute(p.cwd)) throw new Error('Cwd must be an absolute path');
  if (!Array.isArray(p.args) || p.args.length === 0) throw new Error('args must not be empty');
  if (!p.args.every((a: unknown) => typeof a === 'string')) throw new Error('args must be strings');
  if (p.env !== undefined && (!Array.isArray(p.env) || !p.env.every((e: unknown) => typeof e === 'string'))) {
    throw new Error('env must be an array of strings');
  }
  const issues = processIssues(p);
  if (issues.length > 0) throw new Error(describeIssues('invalid process', issues));
}

function parseId(what: string, s: string): number {
  if (!/^\d+$/.test(s)) throw new Error(`bad ${what}: strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  // runc refuses these when it sets up the user; an id past int32 must never reach setresuid.
  if (BigInt(s) > 2147483647n) throw new Error(`--user ${what} ${s}: uids and gids must be in range 0-2147483647`);
  return Number(s);
}

/** The process from --process, or from the container's config with the flags applied (runc's getProcess). */
export function processFromFlags(flags: CommandContext['flags'], args: string[], spec: Spec): Process {
  const file = flags.process as string | undefined;
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`open ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
    // As config.json: exact 64-bit integers (rlimits), null members absent (Go's reading).
    const p = parseSpecJson(text, file).value as Process;
    validateProcessSpec(p);
    return p;
  }
  const p: Process = structuredClone(spec.process ?? { cwd: '/' });
  if (args.length === 0) throw new Error('exec args cannot be empty');
  p.args = args;
  if (flags.cwd) p.cwd = flags.cwd;
  if (flags.apparmor) p.apparmorProfile = flags.apparmor;
  if (flags['process-label']) p.selinuxLabel = flags['process-label'];
  const caps = (flags.cap as string[] | undefined) ?? [];
  if (caps.length > 0) {
    const c = (p.capabilities ??= {});
    for (const cap of caps) {
      for (const set of ['bounding', 'effective', 'permitted'] as const) (c[set] ??= []).push(cap);
      // Ambient needs inheritable, which --cap does not set: only where the config has some.
      if (c.inheritable) (c.ambient ??= []).push(cap);
    }
  }
  p.env = [...(p.env ?? []), ...((flags.env as string[] | undefined) ?? [])];
  p.terminal = flags.tty === true;
  if (flags['no-new-privs'] !== undefined) p.noNewPrivileges = flags['no-new-privs'] === true;
  const user = flags.user as string | undefined;
  if (user) {
    const i = user.indexOf(':');
    p.user = { ...(p.user ?? { uid: 0, gid: 0 }) };
    if (i >= 0) p.user.gid = parseId('gid', user.slice(i + 1));
    p.user.uid = parseId('uid', i >= 0 ? user.slice(0, i) : user);
  }
  for (const g of (flags['additional-gids'] as string[] | undefined) ?? []) {
    if (!/^-?\d+$/.test(g)) throw new Error(`invalid value ${JSON.stringify(g)} for flag -additional-gids: parse error`);
    if (Number(g) < 0) throw new Error(`additional-gids must be a positive number ${g}`);
    p.user = { ...(p.user ?? { uid: 0, gid: 0 }) };
    p.user.additionalGids = [...(p.user.additionalGids ?? []), Number(g)];
  }
  validateProcessSpec(p);
  return p;
}

/** What the process inherits from the container's own process when it does not say (runc's newInitConfig). */
export function withContainerDefaults(p: Process, spec: Spec): Process {
  const c = spec.process ?? {};
  const out: Process = { ...p, user: { uid: 0, gid: 0, ...(p.user ?? {}) } };
  if (out.capabilities === undefined && c.capabilities !== undefined) out.capabilities = c.capabilities;
  if (!out.apparmorProfile && c.apparmorProfile) out.apparmorProfile = c.apparmorProfile;
  if (!out.selinuxLabel && c.selinuxLabel) out.selinuxLabel = c.selinuxLabel;
  if (!out.rlimits?.length && c.rlimits?.length) out.rlimits = c.rlimits;
  if (out.user.umask === undefined && c.user?.umask !== undefined) out.user.umask = c.user.umask;
  if (out.scheduler === undefined && c.scheduler !== undefined) out.scheduler = c.scheduler;
  if (out.ioPriority === undefined && c.ioPriority !== undefined) out.ioPriority = c.ioPriority;
  // As runc 1.1: the container's oom_score_adj, whatever the process asks
  // (runc's exec takes it from the container's config, never from process.json).
  if (c.oomScoreAdj !== undefined && c.oomScoreAdj !== null) out.oomScoreAdj = c.oomScoreAdj;
  else delete out.oomScoreAdj;
  return out;
}

/** runc's --cgroup: `path` (all controllers, or cgroup v2) or `ctrl[,ctrl]:path` (cgroup v1). */
export function parseSubCgroupPaths(args: string[]): Map<string, string> | undefined {
  if (args.length === 0) return undefined;
  const paths = new Map<string, string>();
  for (const c of args) {
    const i = c.indexOf(':');
    if (i >= 0) {
      for (const ctrl of c.slice(0, i).split(',')) {
        if (ctrl === '') throw new Error(`invalid --cgroup argument: ${c} (empty <controller> prefix)`);
        if (paths.has(ctrl)) throw new Error(`invalid --cgroup argument(s): controller ${ctrl} specified multiple times`);
        paths.set(ctrl, c.slice(i + 1));
      }
    } else {
      if (args.length !== 1) throw new Error(`invalid --cgroup argument: ${c} (missing <controller>: prefix)`);
      paths.set('', c);
    }
  }
  return paths;
}

async function execCommand(ctx: CommandContext): Promise<number> {
  const [id, ...args] = ctx.args;
  const store = new StateStore(ctx.globals.root);
  const rec: ContainerRecord = store.read(id);
  const status = containerStatus(store, rec);
  if (status === 'stopped') throw new Error('cannot exec in a stopped container');
  if (status === 'paused' && ctx.flags['ignore-paused'] !== true) {
    throw new Error('cannot exec in a paused container (use --ignore-paused to override)');
  }
  const spec = rec.config as Spec;
  const proc = withContainerDefaults(processFromFlags(ctx.flags, args, spec), spec);

  const detach = ctx.flags.detach === true;
  const consoleSocket = ctx.flags['console-socket'] as string | undefined;
  if (detach && proc.terminal && !consoleSocket) {
    throw new Error('cannot allocate tty if runts will detach without setting console socket');
  }
  if ((!detach || !proc.terminal) && consoleSocket) {
    throw new Error('cannot use console socket if runts will not detach or allocate tty');
  }
  if (ctx.flags['pidfd-socket']) throw new Error('--pidfd-socket is not supported by runts yet');
  // runc checks this before it starts anything; an AppArmor profile the
  // host cannot apply is refused by the process itself (lsm.ts), as runc's is.
  if (proc.selinuxLabel && !selinuxEnabled()) {
    throw new Error('selinux label is specified in config, but selinux is disabled or not supported');
  }
  checkCapabilities(proc.capabilities, (msg) => ctx.log.warn(msg));
  const subCgroupPaths = parseSubCgroupPaths((ctx.flags.cgroup as string[] | undefined) ?? []);
  const pidFile = ctx.flags['pid-file'] as string | undefined;

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
    const started = startExec(
      {
        id,
        initPid: rec.pid,
        initAlive: () => isInitAlive(rec),
        namespaces: spec.linux?.namespaces ?? [],
        cgroupPaths: rec.cgroupPaths ?? [],
        seccomp: spec.linux?.seccomp,
        personality: spec.linux?.personality,
        bundle: rec.bundle,
        annotations: rec.annotations,
        // TODO(lifecycle): create does not record --no-new-keyring yet.
        joinKeyring: rec.noNewKeyring !== true,
      },
      { process: proc, consoleSocket, preserveFds: (ctx.flags['preserve-fds'] as number | undefined) ?? 0, subCgroupPaths },
    );
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

    const relay = started.master !== undefined ? new PtyRelay(started.master) : undefined;
    const st = await waitPidAsync(pid);
    if (relay) {
      await relay.finish();
      try {
        fs.closeSync(started.master!);
      } catch {}
      // stdin was read for the relay: let the event loop end.
      process.stdin.destroy();
    }
    return st.code;
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
}
