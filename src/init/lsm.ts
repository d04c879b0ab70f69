/**
 * AppArmor and SELinux labels of the container's process, as runc applies
 * them: each is an attribute of the calling thread that takes effect at the
 * next execve, written through a verified procfs handle (see
 * src/linux/procfs.ts), never through a path inside the container.
 *
 * When the host has no such LSM (this project's machines have neither):
 * - AppArmor: an empty profile is ignored; a named one is refused at create
 *   (runc fails on the same config writing the attribute: EINVAL).
 * - SELinux: a process label is refused at create with runc's message; the
 *   keycreate label is only written with a process label; a mount label is
 *   appended to the mount data as runc does (see formatMountLabel).
 */
import type { ProcfsHandle } from '../linux/procfs.js';
import { apparmorEnabled, selinuxEnabled } from '../linux/lsm-detect.js';

export interface HostLsm {
  apparmor: boolean;
  selinux: boolean;
}

export function detectLsm(procfs?: ProcfsHandle): HostLsm {
  return { apparmor: apparmorEnabled(), selinux: selinuxEnabled(procfs) };
}

/** The labels for the next execve, checked against the host. */
export interface ExecLabels {
  apparmorProfile?: string;
  selinuxLabel?: string;
}

/** Refuse what the host cannot apply (at create, where the error reaches the client). */
export function checkLabels(
  proc: { apparmorProfile?: string; selinuxLabel?: string },
  host: HostLsm,
): ExecLabels {
  const labels: ExecLabels = {};
  if (proc.apparmorProfile) {
    if (!host.apparmor) {
      throw new Error(
        `unable to apply apparmor profile: AppArmor is not enabled on this host (profile "${proc.apparmorProfile}")`,
      );
    }
    labels.apparmorProfile = proc.apparmorProfile;
  }
  if (proc.selinuxLabel) {
    if (!host.selinux)
      throw new Error('selinux label is specified in config, but selinux is disabled or not supported');
    labels.selinuxLabel = proc.selinuxLabel;
  }
  return labels;
}

/**
 * aa_change_onexec: "exec PROFILE" into attr/apparmor/exec, or attr/exec on
 * kernels before the LSM stacking layout (5.8).
 */
export function setApparmorExecProfile(procfs: ProcfsHandle, profile: string): void {
  const attr = procfs.exists('thread-self/attr/apparmor/exec')
    ? 'thread-self/attr/apparmor/exec'
    : 'thread-self/attr/exec';
  try {
    procfs.write(attr, `exec ${profile}`);
  } catch (e) {
    throw new Error(
      `unable to apply apparmor profile: apparmor failed to apply profile: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** SELinux exec label (setexeccon): the label of the process after the next execve. */
export function setSelinuxExecLabel(procfs: ProcfsHandle, label: string): void {
  try {
    procfs.write('thread-self/attr/exec', label);
  } catch (e) {
    throw new Error(`can't set process label: ${(e as Error).message}`, { cause: e });
  }
}

/** SELinux keycreate label (setkeycreatecon), for the session keyring made next; on the thread-group leader, as go-selinux does. */
export function setSelinuxKeyLabel(procfs: ProcfsHandle, label: string): void {
  try {
    procfs.write('self/attr/keycreate', label);
  } catch (e) {
    throw new Error(`can't set keyring label: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The AppArmor exec label, as runc applies it: before the init reports
 * `ready`, so that a profile the kernel refuses (not loaded, say) fails
 * create with the reason and nothing of the container is left. Written on
 * the calling thread, which must be the one that later calls execve.
 */
export function applyApparmorLabel(procfs: ProcfsHandle, labels: ExecLabels): void {
  if (labels.apparmorProfile) setApparmorExecProfile(procfs, labels.apparmorProfile);
}

/** The SELinux exec label, as runc sets it: after `ready`, right before credentials, seccomp and execve. */
export function applySelinuxLabel(procfs: ProcfsHandle, labels: ExecLabels): void {
  if (labels.selinuxLabel) setSelinuxExecLabel(procfs, labels.selinuxLabel);
}

/**
 * Mount data with the SELinux mount label as its context= option, as runc
 * (go-selinux's FormatMountLabel) does whether or not SELinux is enabled: on
 * a host without SELinux such a mount then fails, as it does with runc.
 */
export function formatMountLabel(data: string, mountLabel: string | undefined): string {
  if (!mountLabel) return data;
  const opt = `context=${JSON.stringify(mountLabel)}`;
  return data ? `${data},${opt}` : opt;
}
