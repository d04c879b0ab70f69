/**
 * The runtime-spec features document (`runts features`): containerd reads
 * it to decide what it may ask of the runtime, so it must claim only what
 * runts actually implements.
 *
 * ===> The constants in this block are THE place to update when a feature
 * ===> lands (and only then). Everything below them is derived.
 */
import type { Features } from './types.gen.js';
import { COMMIT, SPEC_VERSION, VERSION } from '../version.js';
import fs from 'node:fs';
import { seccompFeatures } from '../linux/seccomp.js';
import { KNOWN_MOUNT_OPTIONS } from '../init/mount-options.js';

/** Oldest runtime-spec version whose config.json runts accepts. */
export const OCI_VERSION_MIN = '1.0.0';

export const HOOKS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

/**
 * Mount options runts handles: exactly those the init parses. Not yet: the
 * recursive r* attributes (mount_setattr) and idmap.
 */
export const MOUNT_OPTIONS: readonly string[] = KNOWN_MOUNT_OPTIONS;

/** Namespace types runts can create or join (all eight the kernel has). */
export const NAMESPACES = ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'];

export const CGROUP = { v1: true, v2: true, systemd: false, systemdUser: false };
/** seccomp: computed (seccompFeatures): on when libseccomp is installed, with what the kernel and it support. */
/** AppArmor and SELinux labels are supported (src/init/lsm.ts); as in runc, this says nothing of the host's LSMs. */
export const APPARMOR_ENABLED = true;
export const SELINUX_ENABLED = true;
export const INTEL_RDT_ENABLED = false;
export const IDMAP_MOUNTS_ENABLED = false;

// ===> End of the block to update.

/** Capability names in kernel number order (CAP_CHOWN is 0). */
const CAPABILITY_NAMES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** The capabilities this kernel knows: those numbered up to cap_last_cap. */
export function kernelCapabilities(): string[] {
  let last = CAPABILITY_NAMES.length - 1;
  try {
    last = Math.min(last, Number.parseInt(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10));
  } catch {}
  return CAPABILITY_NAMES.slice(0, last + 1);
}

export function featuresDocument(): Features {
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: SPEC_VERSION,
    hooks: [...HOOKS],
    mountOptions: [...MOUNT_OPTIONS],
    linux: {
      namespaces: [...NAMESPACES],
      capabilities: kernelCapabilities(),
      cgroup: { ...CGROUP },
      seccomp: seccompFeatures(),
      apparmor: { enabled: APPARMOR_ENABLED },
      selinux: { enabled: SELINUX_ENABLED },
      intelRdt: { enabled: INTEL_RDT_ENABLED },
      mountExtensions: { idmap: { enabled: IDMAP_MOUNTS_ENABLED } },
    },
    annotations: { 'run.oci.runts.commit': COMMIT, 'run.oci.runts.version': VERSION },
  };
}
