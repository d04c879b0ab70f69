/**
 * Process security of the container's process, in the order the kernel
 * needs, for the init and for `runts exec` (setns-init.ts) alike:
 *
 *   openProcfs             first, while /proc is the host's (procfs.ts)
 *   joinContainerKeyring   early, as runc: a session keyring of its own
 *   prepareSecurity        before pivot_root / setns(mnt): LSM checks,
 *                          seccomp compiled, agent connected
 *   applyProcessAttributes before `ready`: oom_score_adj, personality,
 *                          scheduler, I/O priority (errors reach create)
 *   beforeReady            right before `ready`: the AppArmor exec label
 *                          (as runc: a refused profile fails create)
 *   beforeLimits           in execProcess: the SELinux exec label, before
 *                          the rlimits that may allow no new fd
 *   beforeCredentials      in execProcess: seccomp when no_new_privs is not
 *                          set (needs CAP_SYS_ADMIN)
 *   verifyCwd              in execProcess, after chdir (CVE-2024-21626)
 *   beforeExec             in execProcess, after the fds are closed:
 *                          seccomp with no_new_privs, then only execve
 */
import { getcwd, ProcfsHandle } from '../linux/procfs.js';
import { joinSessionKeyring, modKeyPerm } from '../linux/keyring.js';
import {
  IOPRIO_CLASS,
  ioprioSet,
  PERSONALITY,
  SCHED_FLAG,
  SCHED_POLICY,
  schedSetattr,
  setPersonality,
} from '../linux/sched.js';
import type { SyscallError } from '../linux/errno.js';
import {
  applyApparmorLabel,
  applySelinuxLabel,
  checkLabels,
  detectLsm,
  setSelinuxKeyLabel,
  type ExecLabels,
} from './lsm.js';
import { installSeccomp, prepareSeccomp, type ListenerState, type PreparedSeccomp } from './seccomp.js';
import type { LinuxSeccomp, Process } from '../spec/types.gen.js';

/** The host's /proc, verified; open it before joining or building anything. */
export function openProcfs(): ProcfsHandle {
  return ProcfsHandle.open('/proc');
}

export interface Security {
  procfs: ProcfsHandle;
  labels: ExecLabels;
  seccomp?: PreparedSeccomp | undefined;
  noNewPrivileges: boolean;
}

/** table[key] for the table's own string keys only (a JSON value may be anything). */
function ownNumber(table: Readonly<Record<string, number>>, key: unknown): number | undefined {
  return typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Everything that needs the host: the LSM checks (a label the host cannot
 * apply is refused here, at create), libseccomp and the seccomp agent's
 * socket. `state` describes the container for the agent (status, ids).
 */
export function prepareSecurity(o: {
  procfs: ProcfsHandle;
  proc: Process;
  seccomp?: LinuxSeccomp | undefined;
  state: Omit<ListenerState['state'], 'pid'> & { pid?: number };
  ociVersion: string;
}): Security {
  const labels = checkLabels(o.proc, detectLsm(o.procfs));
  const seccomp = prepareSeccomp(o.seccomp, () => {
    const pid = o.procfs.selfPid();
    return { ociVersion: o.ociVersion, pid, state: { pid, ...o.state } };
  });
  return { procfs: o.procfs, labels, seccomp, noNewPrivileges: o.proc.noNewPrivileges === true };
}

/**
 * A session keyring of the container's own, "_ses.<id>", so it does not
 * inherit the runtime's (runc's linuxStandardInit). The init also makes it
 * searchable: by "other" in a user namespace, by its user otherwise. Where
 * the kernel has no keyrings (ENOSYS) this is skipped, as runc does.
 */
export function joinContainerKeyring(o: {
  id: string;
  procfs: ProcfsHandle;
  userNs: boolean;
  selinuxLabel?: string | undefined;
  setPerms: boolean;
}): void {
  if (o.selinuxLabel) setSelinuxKeyLabel(o.procfs, o.selinuxLabel);
  let serial: number;
  try {
    serial = joinSessionKeyring(`_ses.${o.id}`);
  } catch (e) {
    if ((e as SyscallError).code === 'ENOSYS') return;
    throw new Error(`unable to join session keyring: ${messageOf(e)}`, { cause: e });
  } finally {
    if (o.selinuxLabel) setSelinuxKeyLabel(o.procfs, '');
  }
  if (o.setPerms) {
    try {
      modKeyPerm(serial, 0xffffffff, o.userNs ? 0x8 : 0x80000);
    } catch (e) {
      throw new Error(`unable to mod keyring permissions: ${messageOf(e)}`, { cause: e });
    }
  }
}

/**
 * oom_score_adj, personality, scheduler and I/O priority of the calling
 * thread (kept across execve). `linux.personality` is checked here: exec's
 * bootstrap carries it as it was in the container's config.
 */
export function applyProcessAttributes(
  proc: Process,
  linux: { personality?: unknown } | undefined,
  procfs: ProcfsHandle,
): void {
  // (A null in config.json or process.json is an absent member: src/spec/load.ts drops it.)
  if (proc.oomScoreAdj !== undefined) {
    const v = proc.oomScoreAdj;
    if (!Number.isInteger(v) || v < -1000 || v > 1000) {
      throw new Error(`process.oomScoreAdj must be an integer between -1000 and 1000 (got ${v})`);
    }
    try {
      procfs.write('self/oom_score_adj', String(v));
    } catch (e) {
      throw new Error(`set oom_score_adj to ${v}: ${messageOf(e)}`, { cause: e });
    }
  }

  const pers = linux?.personality;
  if (pers) {
    const domain: unknown = typeof pers === 'object' && 'domain' in pers ? pers.domain : undefined;
    const persona = ownNumber(PERSONALITY, domain);
    if (persona === undefined) throw new Error(`invalid personality domain ${JSON.stringify(domain)}`);
    // personality flags are not supported by runc either: ignored.
    setPersonality(persona);
  }

  const sched = proc.scheduler;
  if (sched) {
    const policy = ownNumber(SCHED_POLICY, sched.policy);
    if (policy === undefined) throw new Error(`invalid scheduler policy ${JSON.stringify(sched.policy)}`);
    let flags = 0;
    for (const f of sched.flags ?? []) {
      const flag = ownNumber(SCHED_FLAG, f);
      if (flag === undefined) throw new Error(`invalid scheduler flag ${JSON.stringify(f)}`);
      flags |= flag;
    }
    try {
      schedSetattr({
        policy,
        flags,
        nice: sched.nice ?? 0,
        priority: sched.priority ?? 0,
        runtime: BigInt(sched.runtime ?? 0),
        deadline: BigInt(sched.deadline ?? 0),
        period: BigInt(sched.period ?? 0),
      });
    } catch (e) {
      throw new Error(`error setting scheduler: ${messageOf(e)}`, { cause: e });
    }
  }

  const io = proc.ioPriority;
  if (io) {
    const cls = ownNumber(IOPRIO_CLASS, io.class);
    if (cls === undefined) throw new Error(`invalid io priority class: ${io.class}`);
    const level = io.priority ?? 0;
    if (!Number.isInteger(level) || level < 0 || level > 7)
      throw new Error(`invalid ioPriority.priority: ${level} (0 to 7)`);
    ioprioSet(cls, level);
  }
}

/**
 * The AppArmor exec label (aa_change_onexec), before the init or an exec's
 * process reports `ready`: its failure then reaches create (or exec) with
 * the reason, as in runc. The label is the calling thread's and takes effect
 * at its next execve: call it on the thread that calls execve (Node's main
 * thread). A child forked from that thread inherits it: the startContainer
 * hooks, run after `ready`, start under the profile, as runc's do.
 */
export function beforeReady(s: Security): void {
  applyApparmorLabel(s.procfs, s.labels);
}

/** The SELinux exec label; the last use of procfs (after it the rlimits may allow no new fd). */
export function beforeLimits(s: Security): void {
  applySelinuxLabel(s.procfs, s.labels);
  s.procfs.close();
}

/** seccomp when it needs CAP_SYS_ADMIN (no no_new_privs). Right before the credentials change. */
export function beforeCredentials(s: Security): void {
  if (s.seccomp && !s.noNewPrivileges) installSeccomp(s.seccomp);
}

/** seccomp with no_new_privs: the last step before execve. */
export function beforeExec(s: Security): void {
  if (s.seccomp && s.noNewPrivileges) installSeccomp(s.seccomp);
}

/**
 * After chdir(process.cwd): the cwd must be reachable from the container's
 * root. A cwd such as /proc/self/fd/N naming a directory fd of the runtime
 * would put the container's process in the host (CVE-2024-21626); getcwd
 * then fails with ENOENT, or returns a path not starting with "/".
 */
export function verifyCwd(): void {
  let wd: string;
  try {
    wd = getcwd();
  } catch (e) {
    if ((e as SyscallError).code === 'ENOENT') {
      throw new Error(
        'current working directory is outside of container mount namespace root -- possible container breakout detected',
        { cause: e },
      );
    }
    throw new Error(`failed to verify if current working directory is safe: ${messageOf(e)}`, { cause: e });
  }
  if (!wd.startsWith('/')) {
    throw new Error(
      `current working directory is not absolute -- possible container breakout detected: cwd is "${wd}"`,
    );
  }
}
