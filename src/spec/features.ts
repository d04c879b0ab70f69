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
import { seccompFeatures } from '../linux/seccomp.js';
import { KNOWN_MOUNT_OPTIONS } from '../linux/mount-options.js';
import { idmapMountsSupported } from '../linux/mount.js';
import { kernelCapabilities } from '../linux/caps.js';

/** Oldest runtime-spec version whose config.json runts accepts. */
const OCI_VERSION_MIN = '1.0.0';

const HOOKS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

/** Mount options runts handles: exactly those the init parses (r* attributes and idmap included). */
export const MOUNT_OPTIONS: readonly string[] = KNOWN_MOUNT_OPTIONS;

/** Namespace types runts can create or join (all eight the kernel has). */
const NAMESPACES = ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'];

/** systemd: the --systemd-cgroup driver (src/cgroups/systemd/); systemdUser: a user's own systemd (rootless), not yet. */
const CGROUP = { v1: true, v2: true, systemd: true, systemdUser: false };
/** seccomp: computed (seccompFeatures): on when libseccomp is installed, with what the kernel and it support. */
/** AppArmor and SELinux labels are supported (src/init/lsm.ts); as in runc, this says nothing of the host's LSMs. */
const APPARMOR_ENABLED = true;
const SELINUX_ENABLED = true;
const INTEL_RDT_ENABLED = false;

// ===> End of the block to update.

export { kernelCapabilities };

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
      mountExtensions: {
        idmap: { enabled: idmapMountsSupported() /* on when the kernel has mount_setattr */ },
      },
    },
    annotations: { 'run.oci.runts.commit': COMMIT, 'run.oci.runts.version': VERSION },
  };
}
