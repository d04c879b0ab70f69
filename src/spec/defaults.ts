/**
 * The config.json that `runts spec` writes: runc 1.1.5's example spec (and
 * its rootless conversion), field for field and in runc's key order, so the
 * file reads like runc's. Only ociVersion differs: runts writes the version
 * it implements. As runc's, it depends on the host in one place: on a pure
 * cgroup v2 host (/sys/fs/cgroup a cgroup2 mount) the namespaces end with a
 * cgroup namespace, kept by the rootless conversion.
 */
import type { LinuxNamespace, Mount, Spec } from './types.gen.js';
import { SPEC_VERSION } from '../version.js';
import { isCgroup2Unified } from '../cgroups/mounts.js';

const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/**
 * @param opts.cgroup2Unified whether the host is pure cgroup v2 (default:
 *   detected, as runc's cgroups.IsCgroup2UnifiedMode does)
 */
export function defaultSpec(opts: { rootless: boolean; cgroup2Unified?: boolean }): Spec {
  const caps = () => [...DEFAULT_CAPS];
  const mounts: Mount[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
  ];
  const namespaces: LinuxNamespace[] = [
    { type: 'pid' },
    { type: 'network' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
  ];
  if (opts.cgroup2Unified ?? isCgroup2Unified()) namespaces.push({ type: 'cgroup' });
  const linuxTail = {
    maskedPaths: [
      '/proc/acpi',
      '/proc/asound',
      '/proc/kcore',
      '/proc/keys',
      '/proc/latency_stats',
      '/proc/timer_list',
      '/proc/timer_stats',
      '/proc/sched_debug',
      '/sys/firmware',
      '/proc/scsi',
    ],
    readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
  };
  const spec: Spec = {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: caps(), effective: caps(), permitted: caps(), ambient: caps() },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts,
  };
  if (!opts.rootless) {
    spec.linux = { resources: { devices: [{ allow: false, access: 'rwm' }] }, namespaces, ...linuxTail };
    return spec;
  }
  // runc's ToRootless: a user namespace mapping only the caller, no network
  // namespace, /sys bind-mounted (sysfs cannot be mounted without netns),
  // no uid=/gid= mount options (unmapped ids), no cgroup resources.
  spec.mounts = mounts.map((m) =>
    m.destination === '/sys'
      ? {
          destination: '/sys',
          type: 'none',
          source: '/sys',
          options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
        }
      : m.options
        ? { ...m, options: m.options.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid=')) }
        : m,
  );
  spec.linux = {
    uidMappings: [{ containerID: 0, hostID: process.geteuid?.() ?? 0, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: process.getegid?.() ?? 0, size: 1 }],
    namespaces: [...namespaces.filter((ns) => ns.type !== 'network' && ns.type !== 'user'), { type: 'user' }],
    ...linuxTail,
  };
  return spec;
}
