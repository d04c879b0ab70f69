/**
 * linux.sysctl: written under /proc/sys from inside the container's
 * namespaces, only for sysctls that belong to a namespace the container
 * owns (runc's libcontainer/configs/validate sysctl rules). The config
 * validator refuses most of the rest before anything starts; the init
 * checks again with what only it knows (whether a joined network
 * namespace is the runtime's own) right after joining the namespaces.
 */
import fs from 'node:fs';
import type { ProcfsHandle } from '../linux/procfs.js';

const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** "net/ipv4/conf/eth0.100/rp_filter" → "net.ipv4.conf.eth0/100.rp_filter" (sysctl.d(5)). */
export function dottedSysctl(key: string): string {
  const i = key.search(/[./]/);
  if (i < 0 || key[i] === '.') return key;
  return key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** The path under /proc/sys of a dotted or slashed sysctl name. */
export function sysctlPath(key: string): string {
  return dottedSysctl(key).replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** (dev, ino) of a namespace file, to tell two namespaces apart. */
export function namespaceId(file: string): string {
  const st = fs.statSync(file);
  return `${st.dev}:${st.ino}`;
}

export interface SysctlContext {
  /** Namespace types the config gives the container (created or joined). */
  namespaces: Set<string>;
  /** The network namespace the container ends up in, and the runtime's own. */
  netns?: string | undefined;
  runtimeNetns?: string | undefined;
}

/** Throws, with runc's words, for a sysctl the container does not own. */
export function checkSysctls(sysctl: Record<string, string | undefined> | undefined, c: SysctlContext): void {
  for (const key of Object.keys(sysctl ?? {})) {
    const s = dottedSysctl(key);
    if (s.split(/[./]/).some((p) => p === '' || p === '..'))
      throw new Error(`sysctl "${key}" is not a valid sysctl name`);
    if (IPC_SYSCTLS.has(s) || s.startsWith('fs.mqueue.')) {
      if (!c.namespaces.has('ipc'))
        throw new Error(`sysctl "${s}" is not allowed in the hosts ipc namespace`);
      continue;
    }
    if (s.startsWith('net.')) {
      if (!c.namespaces.has('network') || (c.netns !== undefined && c.netns === c.runtimeNetns)) {
        throw new Error(`sysctl "${s}" not allowed in host network namespace`);
      }
      continue;
    }
    if (c.namespaces.has('uts')) {
      if (s === 'kernel.domainname') continue;
      if (s === 'kernel.hostname')
        throw new Error(`sysctl "${s}" is not allowed as it conflicts with the OCI "hostname" field`);
    }
    if (s.startsWith('user.')) {
      if (!c.namespaces.has('user'))
        throw new Error(`setting ucounts without a user namespace not allowed: ${s}`);
      continue;
    }
    throw new Error(`sysctl "${s}" is not in a separate kernel namespace`);
  }
}

/**
 * Write each sysctl through `procfs` (the host's procfs, opened and
 * verified before anything else: /proc/sys shows the namespaces of the
 * process that looks, so the init's writes land in the container's).
 */
export function writeSysctls(
  sysctl: Record<string, string | undefined> | undefined,
  procfs: ProcfsHandle,
): void {
  for (const [key, value] of Object.entries(sysctl ?? {})) {
    if (value === undefined) continue;
    try {
      procfs.write(`sys/${sysctlPath(key)}`, value);
    } catch (e) {
      throw new Error(`write sysctl key ${key}: ${(e as Error).message}`, { cause: e });
    }
  }
}
