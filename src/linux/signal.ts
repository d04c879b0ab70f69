/** Signal dispositions and the signal mask of the calling process/thread. */
import { DataType, libcPlain } from './libc.js';
import { NativeBlock } from './memory.js';

const SIG_DFL = 0;
const SIG_SETMASK = 2;
/** glibc keeps 32 and 33 for itself (sigaction refuses them); SIGKILL and SIGSTOP cannot change. */
const UNCHANGEABLE = new Set([9, 19, 32, 33]);
const NSIG = 65;

const signalCall = libcPlain('signal', DataType.BigInt, [DataType.I32, DataType.I64]);
const sigprocmaskCall = libcPlain('sigprocmask', DataType.I32, [DataType.I32, DataType.I64, DataType.I64]);

/**
 * Every signal back to its default action and an empty signal mask (of the
 * calling thread, which execve keeps), as a process started by runc gets.
 * Ignored signals survive execve, and Node ignores SIGPIPE and SIGXFSZ: a
 * container's `yes | head -c1` would otherwise see EPIPE instead of dying.
 * Node's handlers are gone after this: call it right before execve.
 */
export function resetSignals(): void {
  for (let sig = 1; sig < NSIG; sig++) if (!UNCHANGEABLE.has(sig)) signalCall([sig, SIG_DFL]);
  const b = new NativeBlock(128);
  const empty = b.alloc(128); // a zeroed sigset_t (glibc's is 128 bytes)
  sigprocmaskCall([SIG_SETMASK, Number(empty.address), 0]);
}
