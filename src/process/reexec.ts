/**
 * CVE-2019-5736, the last window: until its execve, the clone chain's
 * child is a copy of the runts process that made it, so its
 * /proc/<pid>/exe is that process's executable. For `runts exec` it is
 * born in the container's PID namespace. Not dumpable (spawn-init.ts),
 * only CAP_SYS_PTRACE in the host's user namespace can open that link: a
 * container without a user namespace whose processes may hold
 * CAP_SYS_PTRACE could get the host's node binary. There, runts first
 * re-executes itself from the sealed, read-only view of node (exeseal.ts),
 * so the child it clones is a copy of the sealed view too (runc re-executes
 * itself from a sealed copy for the same reason). It costs one more Node
 * start, so only where that capability is in reach.
 */
import fs from 'node:fs';
import { sealedExecutable } from '../linux/exeseal.js';
import { setCloexec } from '../linux/fd.js';
import { execve, prepareExec } from '../linux/execve.js';

const ENV = '_RUNTS_SEALED_FD';
const CAP_SYS_PTRACE = 19n;

let inherited: number | undefined | null = null;

/** In a runts re-executed by reexecSealed: its fd on the sealed view of node (close-on-exec again). */
export function inheritedSealedFd(): number | undefined {
  if (inherited === null) {
    const v = process.env[ENV];
    Reflect.deleteProperty(process.env, ENV);
    inherited = v && /^\d+$/.test(v) ? Number(v) : undefined;
    if (inherited !== undefined) setCloexec(inherited, true);
  }
  return inherited;
}

/**
 * True when a process in the PID namespace at `pidNsPath` (a /proc/<pid>/ns/pid
 * or a bind mount of one) runs in our own user namespace with
 * CAP_SYS_PTRACE in its bounding set (so it has or can get it over the
 * host's user namespace).
 */
export function ptraceInReach(pidNsPath: string): boolean {
  const pidNs = `pid:[${fs.statSync(pidNsPath).ino}]`;
  const userNs = fs.readlinkSync('/proc/self/ns/user');
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readlinkSync(`/proc/${p}/ns/pid`) !== pidNs || fs.readlinkSync(`/proc/${p}/ns/user`) !== userNs)
        continue;
      const bnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      if (bnd && (BigInt(`0x${bnd[1]}`) >> CAP_SYS_PTRACE) & 1n) return true;
    } catch {}
  }
  return false;
}

/**
 * Replace this process by runts run from the sealed view of node, with the
 * same arguments, environment, stdio and `preserveFds` fds from 3 on. Returns only where it is
 * already so run, or where no sealed view can be made.
 */
export function reexecSealed(preserveFds: number): void {
  if (inheritedSealedFd() !== undefined) return;
  const sealed = sealedExecutable();
  if (!sealed) return;
  // Node marks the fds it inherits close-on-exec: stdio and the preserved
  // fds must reach the new runts.
  const keep = Array.from({ length: 3 + preserveFds }, (_, i) => i);
  for (const fd of [...keep, sealed.fd]) {
    try {
      setCloexec(fd, false);
    } catch {}
  }
  const env = Object.entries({ ...process.env, [ENV]: String(sealed.fd) }).map(([k, v]) => `${k}=${v}`);
  const argv = [process.argv0 || 'node', ...process.execArgv, ...process.argv.slice(1)];
  execve(prepareExec(`/proc/self/fd/${sealed.fd}`, argv, env));
}
