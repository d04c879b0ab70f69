/**
 * The init's wait for `start`, handed over to a program without Node
 * (src/native/runts-wait.c, dist/runts-wait): once the container is built
 * and `create` has recorded it, the init has nothing left to do but wait on
 * exec.fifo and execve, and a Node process waiting costs ~40 MB resident and
 * 7 threads per created container where runc's init waits in ~10 MB.
 *
 * The init sets the process up completely (credentials, capabilities,
 * limits, cwd, stdio, signals, seccomp where it must precede the
 * credentials) and execs the waiter from a sealed memfd that `create` made
 * (so /proc/<pid>/exe names no host file, CVE-2019-5736). The waiter makes
 * itself non-dumpable as runc's init is, opens exec.fifo (blocking until
 * `start`), writes the byte, loads the no_new_privs seccomp filter (runc
 * loads that one last, after the fifo) and execs the container's program.
 *
 * Capabilities come through the extra execve unchanged: the kernel's
 * transformation is idempotent for a file without file capabilities or
 * set-id bits (root: permitted = bounding | inheritable | ambient both times;
 * others: permitted = ambient both times), and the memfd has neither.
 *
 * Where the extra step would change what the container sees, the init
 * waits in Node as before:
 * - startContainer hooks, which the init runs after `start` opened the fifo;
 * - an AppArmor or SELinux exec label, which would label the waiter's execve
 *   instead of the program's;
 * - a seccomp agent (listenerPath), which gets the listener fd from the init;
 * - a seccomp filter loaded before the credentials (no no_new_privs) that
 *   may refuse the calls runc's init does not make under it: execveat of
 *   the waiter, and the waiter's prctl.
 */
import type { Hook, LinuxSeccomp } from '../spec/types.gen.js';
import { sealedMemfd } from '../linux/memfd.js';
import { prepareExecFd, type PreparedExec } from '../linux/execve.js';
import type { Security } from './security.js';

export interface WaitHandover {
  /** The waiter (memfd, inherited from create). */
  programFd: number;
  /** exec.fifo, O_PATH: the waiter reopens it through /proc/self/fd. */
  fifoFd: number;
  /** The seccomp filter for the waiter to load, or -1. */
  bpfFd: number;
  /** The waiter's argv and the container process's environment. */
  exec: PreparedExec;
}

/** An action that lets a syscall through. */
const LETS_THROUGH = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG']);

/**
 * Whether the filter lets `syscall` through, whatever its arguments. The
 * waiter's calls under a filter loaded before the credentials beyond runc's
 * own (open, write, close, execve): execveat of the waiter, and its prctl.
 */
function letsThrough(config: LinuxSeccomp, syscall: string): boolean {
  if (LETS_THROUGH.has(config.defaultAction)) return true;
  return (config.syscalls ?? []).some(
    (r) => r.names.includes(syscall) && LETS_THROUGH.has(r.action) && !(r.args ?? []).length,
  );
}

export function planWaitHandover(o: {
  programFd: number | undefined;
  fifoFd: number;
  startContainerHooks: Hook[] | undefined;
  security: Security;
  seccompConfig: LinuxSeccomp | undefined;
  path: string;
  args: string[];
  env: string[];
}): WaitHandover | undefined {
  if (o.programFd === undefined) return undefined;
  if (o.startContainerHooks?.length) return undefined;
  const { labels, seccomp, noNewPrivileges } = o.security;
  if (labels.apparmorProfile || labels.selinuxLabel) return undefined;
  if (seccomp?.listener) return undefined;
  const early = seccomp && !noNewPrivileges ? o.seccompConfig : undefined;
  if (early && !['execveat', 'prctl'].every((c) => letsThrough(early, c))) return undefined;

  // With no_new_privs the filter is the waiter's to load, after the fifo.
  const late = seccomp && noNewPrivileges ? seccomp.compiled : undefined;
  const bpfFd = late ? sealedMemfd('runts-seccomp', late.program.code) : -1;
  const argv = ['runts-wait', String(o.fifoFd), String(bpfFd), String(late?.flags ?? 0), o.path, ...o.args];
  return { programFd: o.programFd, fifoFd: o.fifoFd, bpfFd, exec: prepareExecFd(argv, o.env) };
}
