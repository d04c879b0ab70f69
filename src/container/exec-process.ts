/**
 * A new process in a created or running container, as runc's exec: the
 * process is the container's config.json process with the caller's
 * changes (or a process.json file), with the container's capabilities,
 * rlimits, no_new_privs, LSM labels and umask as defaults; the container's
 * status and the terminal options are checked before anything starts.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Process, Spec } from '../spec/types.gen.js';
import { parseSpecJson } from '../spec/load.js';
import { describeIssues, processIssues } from '../spec/validate.js';
import { selinuxEnabled } from '../linux/lsm-detect.js';
import { checkCapabilities } from '../process/capabilities.js';
import { startExec, type StartedExec } from '../process/spawn-exec.js';
import type { ContainerRecord, RecordedConfig, StateStore } from './state-store.js';
import { isInitAlive, statusCheck } from './status.js';

/** What the caller changes in the container's process (runc's exec flags). */
export interface ProcessChanges {
  /** The program and its arguments. */
  args: string[];
  cwd?: string | undefined;
  env: string[];
  tty: boolean;
  /** `<uid>[:<gid>]`. */
  user?: string | undefined;
  additionalGids: string[];
  /** Capabilities added to the bounding, effective and permitted sets. */
  caps: string[];
  noNewPrivileges?: boolean | undefined;
  apparmorProfile?: string | undefined;
  selinuxLabel?: string | undefined;
}

export interface ExecRequest {
  /** A process.json file that replaces the container's process, or the changes to it. */
  process: { file: string } | ProcessChanges;
  /** Allow a paused container. */
  ignorePaused: boolean;
  /** The caller returns once the process started. */
  detach: boolean;
  consoleSocket?: string | undefined;
  pidfdSocket?: string | undefined;
  /** fds 3..3+preserveFds-1 are passed to the process. */
  preserveFds: number;
  /** runc's --cgroup: `path` or `ctrl[,ctrl]:path`. */
  cgroups: string[];
  /** Joining the container's cgroups may fail (runc's rootless cgroup manager). */
  rootlessCgroups?: boolean | undefined;
  warn: (msg: string) => void;
}

/** An exec checked and ready to start: nothing runs yet. */
export interface PreparedExec {
  rec: ContainerRecord;
  process: Process;
  request: ExecRequest;
  subCgroupPaths: Map<string, string> | undefined;
}

/** Read the container, check that it may run the process, and build the process. */
export function prepareExec(store: StateStore, id: string, request: ExecRequest): PreparedExec {
  const rec = store.read(id);
  const check = statusCheck(store, rec);
  if (!check.canExec(request.ignorePaused)) {
    if (check.stopped) throw new Error('cannot exec in a stopped container');
    throw new Error('cannot exec in a paused container (use --ignore-paused to override)');
  }
  const spec = rec.config;
  const proc = withContainerDefaults(buildProcess(request.process, spec), spec);

  const { detach, consoleSocket } = request;
  if (detach && proc.terminal && !consoleSocket) {
    throw new Error('cannot allocate tty if runts will detach without setting console socket');
  }
  if ((!detach || !proc.terminal) && consoleSocket) {
    throw new Error('cannot use console socket if runts will not detach or allocate tty');
  }
  if (request.pidfdSocket) throw new Error('--pidfd-socket is not supported by runts yet');
  // runc checks this before it starts anything; an AppArmor profile the
  // host cannot apply is refused by the process itself (lsm.ts), as runc's is.
  if (proc.selinuxLabel && !selinuxEnabled()) {
    throw new Error('selinux label is specified in config, but selinux is disabled or not supported');
  }
  checkCapabilities(proc.capabilities, request.warn);
  return { rec, process: proc, request, subCgroupPaths: parseSubCgroupPaths(request.cgroups) };
}

/** Start a prepared exec: returns once the process has exec'd its program (process/spawn-exec.ts). */
export function startPreparedExec(p: PreparedExec): StartedExec {
  const { rec, request } = p;
  const linux = rec.config.linux;
  return startExec(
    {
      id: rec.id,
      initPid: rec.pid,
      initAlive: () => isInitAlive(rec),
      namespaces: linux?.namespaces ?? [],
      cgroupPaths: rec.cgroupPaths ?? [],
      seccomp: linux?.seccomp,
      personality: linux?.personality,
      bundle: rec.bundle,
      annotations: rec.annotations,
      joinKeyring: rec.noNewKeyring !== true,
    },
    {
      process: p.process,
      consoleSocket: request.consoleSocket,
      preserveFds: request.preserveFds,
      subCgroupPaths: p.subCgroupPaths,
      rootlessCgroups: request.rootlessCgroups,
    },
  );
}

function validateProcess(p: unknown): asserts p is Process {
  if (!isObject(p)) throw new Error('process property must not be empty');
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseId(what: string, s: string): number {
  if (!/^\d+$/.test(s))
    throw new Error(`bad ${what}: strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  // runc refuses these when it sets up the user; an id past int32 must never reach setresuid.
  if (BigInt(s) > 2147483647n)
    throw new Error(`--user ${what} ${s}: uids and gids must be in range 0-2147483647`);
  return Number(s);
}

/** The process from a process.json, or from the container's config with the changes applied (runc's getProcess). */
function buildProcess(source: ExecRequest['process'], spec: RecordedConfig): Process {
  if ('file' in source) {
    const { file } = source;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(
        `open ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
        { cause: e },
      );
    }
    // As config.json: exact 64-bit integers (rlimits), null members absent (Go's reading).
    const p = parseSpecJson(text, file).value;
    validateProcess(p);
    return p;
  }
  const c = source;
  const p: Process = structuredClone(spec.process ?? { cwd: '/' });
  if (c.args.length === 0) throw new Error('exec args cannot be empty');
  p.args = c.args;
  if (c.cwd) p.cwd = c.cwd;
  if (c.apparmorProfile) p.apparmorProfile = c.apparmorProfile;
  if (c.selinuxLabel) p.selinuxLabel = c.selinuxLabel;
  if (c.caps.length > 0) {
    const sets = (p.capabilities ??= {});
    for (const cap of c.caps) {
      for (const set of ['bounding', 'effective', 'permitted'] as const) (sets[set] ??= []).push(cap);
      // Ambient needs inheritable, which --cap does not set: only where the config has some.
      if (sets.inheritable) (sets.ambient ??= []).push(cap);
    }
  }
  p.env = [...(p.env ?? []), ...c.env];
  p.terminal = c.tty;
  if (c.noNewPrivileges !== undefined) p.noNewPrivileges = c.noNewPrivileges;
  if (c.user) {
    const i = c.user.indexOf(':');
    const user = { ...(p.user ?? { uid: 0, gid: 0 }) };
    if (i >= 0) user.gid = parseId('gid', c.user.slice(i + 1));
    user.uid = parseId('uid', i >= 0 ? c.user.slice(0, i) : c.user);
    p.user = user;
  }
  for (const g of c.additionalGids) {
    if (!/^-?\d+$/.test(g))
      throw new Error(`invalid value ${JSON.stringify(g)} for flag -additional-gids: parse error`);
    if (Number(g) < 0) throw new Error(`additional-gids must be a positive number ${g}`);
    const user = { ...(p.user ?? { uid: 0, gid: 0 }) };
    user.additionalGids = [...(user.additionalGids ?? []), Number(g)];
    p.user = user;
  }
  validateProcess(p);
  return p;
}

/** What the process inherits from the container's own process when it does not say (runc's newInitConfig). */
export function withContainerDefaults(p: Process, spec: Pick<Spec, 'process'>): Process {
  const c: Partial<Process> = spec.process ?? {};
  const out: Process = { ...p, user: { uid: 0, gid: 0, ...(p.user ?? {}) } };
  const user = out.user ?? { uid: 0, gid: 0 };
  if (out.capabilities === undefined && c.capabilities !== undefined) out.capabilities = c.capabilities;
  if (!out.apparmorProfile && c.apparmorProfile) out.apparmorProfile = c.apparmorProfile;
  if (!out.selinuxLabel && c.selinuxLabel) out.selinuxLabel = c.selinuxLabel;
  if (!out.rlimits?.length && c.rlimits?.length) out.rlimits = c.rlimits;
  if (user.umask === undefined && c.user?.umask !== undefined) user.umask = c.user.umask;
  if (out.scheduler === undefined && c.scheduler !== undefined) out.scheduler = c.scheduler;
  if (out.ioPriority === undefined && c.ioPriority !== undefined) out.ioPriority = c.ioPriority;
  // As runc 1.1: the container's oom_score_adj, whatever the process asks
  // (runc's exec takes it from the container's config, never from process.json).
  if (c.oomScoreAdj !== undefined) out.oomScoreAdj = c.oomScoreAdj;
  else delete out.oomScoreAdj;
  return out;
}

/** runc's --cgroup: `path` (all controllers, or cgroup v2) or `ctrl[,ctrl]:path` (cgroup v1). */
function parseSubCgroupPaths(args: string[]): Map<string, string> | undefined {
  if (args.length === 0) return undefined;
  const paths = new Map<string, string>();
  for (const c of args) {
    const i = c.indexOf(':');
    if (i >= 0) {
      for (const ctrl of c.slice(0, i).split(',')) {
        if (ctrl === '') throw new Error(`invalid --cgroup argument: ${c} (empty <controller> prefix)`);
        if (paths.has(ctrl))
          throw new Error(`invalid --cgroup argument(s): controller ${ctrl} specified multiple times`);
        paths.set(ctrl, c.slice(i + 1));
      }
    } else {
      if (args.length !== 1)
        throw new Error(`invalid --cgroup argument: ${c} (missing <controller>: prefix)`);
      paths.set('', c);
    }
  }
  return paths;
}
