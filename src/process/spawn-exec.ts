/**
 * The parent side of `runts exec`: start a fresh runts process
 * (dist/setns-init.cjs) inside a running container through the clone chain,
 * and return once it has execve()d the program.
 *
 * Who joins what (see docs/process-model.md):
 * - user and time namespaces: the clone chain, before Node runs (only a
 *   single-threaded process may);
 * - PID namespace: this process, for the child it clones (spawnInit);
 * - cgroups: this process, once the child has started Node and before it
 *   does anything else (onBooted): a process in a user namespace cannot
 *   write the host's cgroup files;
 * - ipc, uts, network, cgroup and mount namespaces: the exec'ed process,
 *   the mount namespace last (setns-init.ts).
 * The container's namespaces are opened here as fds, and the init's pid is
 * checked afterwards, so a recycled pid cannot put the process elsewhere.
 */
import { debug } from '../output.js';
import fs from 'node:fs';
import path from 'node:path';
import { NAMESPACE_PROC_NAMES } from '../linux/ns.js';
import { mountOf } from '../cgroups/mounts.js';
import { connectUnix, recvFd, socketPair } from '../linux/socket.js';
import { killAndReap } from '../linux/wait.js';
import { spawnInit, type SpawnInitOptions } from './spawn-init.js';
import { ptraceInReach, reexecSealed } from './reexec.js';
import { pausePoint } from '../test-points.js';
import type {
  Annotations,
  LinuxNamespace,
  LinuxNamespaceType,
  LinuxPersonality,
  LinuxSeccomp,
  Process,
} from '../spec/types.gen.js';

/** The running container to exec into. */
export interface ExecTarget {
  id: string;
  /** Host pid of the container's init. */
  initPid: number;
  /** True while initPid is still the container's init (not a recycled pid). */
  initAlive: () => boolean;
  /** The container's linux.namespaces. */
  namespaces: LinuxNamespace[];
  /** The container's cgroup directories (none when runts made none). */
  cgroupPaths: string[];
  /** The container's linux.seccomp and linux.personality. */
  seccomp?: LinuxSeccomp | undefined;
  personality?: LinuxPersonality | undefined;
  bundle: string;
  annotations?: Annotations | undefined;
  /** False when the container was made with --no-new-keyring. */
  joinKeyring: boolean;
}

export interface ExecOptions {
  /** The runtime-spec process, complete (the container's defaults applied). */
  process: Process;
  /** With process.terminal: the client's socket that receives the pty master. */
  consoleSocket?: string | undefined;
  /** fds 3..3+preserveFds-1 are passed to the process. */
  preserveFds: number;
  /** --cgroup: controller ('' for all, or cgroup v2) → sub-cgroup of the container's. */
  subCgroupPaths?: Map<string, string> | undefined;
  /** As runc's rootless cgroup manager: a cgroup the process may not join is not an error. */
  rootlessCgroups?: boolean | undefined;
}

export interface StartedExec {
  /** Host pid of the process (our child). */
  pid: number;
  /** With process.terminal and no console socket: the pty master, for runts to relay. */
  master?: number | undefined;
}

/** A failure reported by the process inside the container (runc's wording). */
export class ExecStartError extends Error {}

function ownNs(name: string): string | undefined {
  try {
    return fs.readlinkSync(`/proc/self/ns/${name}`);
  } catch {
    return undefined;
  }
}

/** Open the container's namespaces that differ from ours; type → fd. */
function openNamespaces(t: ExecTarget): Map<LinuxNamespaceType, number> {
  const fds = new Map<LinuxNamespaceType, number>();
  try {
    for (const { type } of t.namespaces) {
      const name = NAMESPACE_PROC_NAMES[type];
      if (!name || fds.has(type)) continue;
      const target = `/proc/${t.initPid}/ns/${name}`;
      let link: string;
      try {
        link = fs.readlinkSync(target);
      } catch {
        throw new Error('container not running');
      }
      // Joining the namespace we are already in is useless, and for a user
      // namespace an error (EINVAL).
      if (link === ownNs(name)) continue;
      fds.set(type, fs.openSync(target, fs.constants.O_RDONLY));
    }
  } catch (e) {
    for (const fd of fds.values()) fs.closeSync(fd);
    throw e;
  }
  return fds;
}

/** The subsystems of the cgroup v1 hierarchy holding `dir` (none for cgroup v2). */
function controllersOf(dir: string): string[] {
  const m = mountOf(dir);
  return m?.version === 1 ? m.subsystems : [];
}

function subCgroup(base: string, sub: string): string {
  const p = path.join(base, sub);
  if (p !== base && !p.startsWith(base + '/')) throw new Error(`bad sub cgroup path: ${sub}`);
  return p;
}

/** The cgroup directories the process joins: the container's, or its sub-cgroups (--cgroup). */
function cgroupTargets(paths: string[], sub: Map<string, string> | undefined): string[] {
  if (!sub || sub.size === 0) return paths;
  if (paths.length === 0)
    throw new Error('--cgroup: the container has no cgroup of its own to hold a sub-cgroup');
  const all = sub.get('');
  if (all !== undefined) return paths.map((p) => subCgroup(p, all));
  const out = [...paths];
  for (const [ctrl, s] of sub) {
    const i = paths.findIndex((p) => controllersOf(p).includes(ctrl));
    const dir = paths[i];
    if (dir === undefined) throw new Error(`unknown controller ${ctrl} in SubCgroupPaths`);
    out[i] = subCgroup(dir, s);
  }
  return out;
}

function joinCgroups(dirs: string[], pid: number, rootless: boolean): void {
  for (const dir of dirs) {
    try {
      fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
    } catch (e) {
      if (rootless) continue;
      throw new Error(
        `error adding pid ${pid} to cgroups: ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        { cause: e },
      );
    }
  }
}

function checkPreservedFds(n: number): number[] {
  const fds: number[] = [];
  for (let i = 0; i < n; i++) {
    try {
      fs.fstatSync(3 + i);
    } catch (e) {
      throw new Error(
        `unable to stat preserved-fd ${i} (of ${n}): ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
        { cause: e },
      );
    }
    fds.push(3 + i);
  }
  return fds;
}

/**
 * Start `o.process` in the container. Returns once the program runs (the
 * exec'ed process's socket closed at execve); throws ExecStartError with
 * the process's own message when it could not start it.
 */
export function startExec(t: ExecTarget, o: ExecOptions): StartedExec {
  // Before anything is opened or started: this may re-execute runts.
  if (ptraceInReach(`/proc/${t.initPid}/ns/pid`)) reexecSealed(o.preserveFds);
  const preserved = checkPreservedFds(o.preserveFds);
  const cgroups = cgroupTargets(t.cgroupPaths, o.subCgroupPaths);
  const toClose: number[] = [];
  let consoleParent: number | undefined;
  try {
    const nsFds = openNamespaces(t);
    toClose.push(...nsFds.values());
    // The fds now name the container's namespaces, unless the init died
    // and its pid was reused before we opened them.
    if (!t.initAlive()) throw new Error('container not running');

    let consoleFd: number | undefined;
    if (o.process.terminal) {
      if (o.consoleSocket) {
        consoleFd = connectUnix(o.consoleSocket);
      } else {
        [consoleParent, consoleFd] = socketPair();
      }
      toClose.push(consoleFd);
    }

    const join = [...nsFds]
      .filter(([type]) => !['user', 'pid', 'time'].includes(type))
      .map(([type, fd]) => ({ type, fd }));
    const fdPath = (type: LinuxNamespaceType) =>
      nsFds.has(type) ? `/proc/self/fd/${nsFds.get(type)}` : undefined;
    const spawnOpts: SpawnInitOptions = {
      cloneFlags: 0,
      userNsPath: fdPath('user'),
      pidNsPath: fdPath('pid'),
      timeNsPath: fdPath('time'),
      inheritFds: [...preserved, ...join.map((j) => j.fd), ...(consoleFd !== undefined ? [consoleFd] : [])],
      exec: {
        id: t.id,
        process: o.process,
        joinNamespaces: join,
        consoleSocketFd: consoleFd,
        preserveFds: o.preserveFds,
        seccomp: t.seccomp,
        personality: t.personality,
        bundle: t.bundle,
        annotations: t.annotations,
        joinKeyring: t.joinKeyring,
      },
      onSpawned: () => pausePoint('exec:spawned'),
      onBooted: (pid) => {
        joinCgroups(cgroups, pid, o.rootlessCgroups === true);
        pausePoint('exec:cgroups');
      },
    };
    let spawned: ReturnType<typeof spawnInit>;
    try {
      spawned = spawnInit(spawnOpts);
    } catch (e) {
      const pid = (e as { initPid?: number }).initPid;
      if (pid) killAndReap(pid);
      throw e;
    }
    // Only the process holds its ends now: EOF on them means it is gone.
    for (const fd of toClose.splice(0)) fs.closeSync(fd);

    const { pid, channel } = spawned;
    debug(`exec: process started as pid ${pid}, joining ${[...nsFds.keys()].join(', ')} namespaces`);
    let ready = false;
    let failure: string | undefined;
    for (;;) {
      const msg = channel.receive();
      if (!msg) break;
      if (msg.type === 'error') {
        failure = msg.message;
        break;
      }
      if (msg.type === 'ready') ready = true;
    }
    channel.close();
    debug(ready ? 'exec: the program runs' : `exec: failed: ${failure ?? 'exited early'}`);
    pausePoint('exec:ready');
    if (failure !== undefined || !ready) {
      killAndReap(pid);
      throw new ExecStartError(failure ?? 'the exec process exited before it started the program');
    }

    let master: number | undefined;
    if (consoleParent !== undefined) {
      try {
        master = recvFd(consoleParent).fd;
      } catch (e) {
        killAndReap(pid);
        throw new Error(`receiving the pty master: ${(e as Error).message}`, { cause: e });
      }
    }
    return { pid, master };
  } finally {
    for (const fd of toClose) fs.closeSync(fd);
    if (consoleParent !== undefined) fs.closeSync(consoleParent);
  }
}
