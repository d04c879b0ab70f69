/** Waiting for child processes (the init is a child of `create`/`run`). */
import { DataType, libcFunction, libcCallOnWorker } from './libc.js';
import { NativeBlock } from './memory.js';

const waitpidCall = libcFunction('waitpid', DataType.I32, [DataType.I32, DataType.I64, DataType.I32]);

export interface ExitStatus {
  /** Exit code, or 128 + signal number when killed (the shell's convention). */
  code: number;
  signal?: number;
}

function decode(status: number): ExitStatus {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff };
  return { code: 128 + sig, signal: sig };
}

/** Blocking waitpid for one child. */
export function waitPid(pid: number): ExitStatus {
  const b = new NativeBlock(16);
  const st = b.alloc(4);
  for (;;) {
    try {
      waitpidCall([pid, Number(st.address), 0], `pid ${pid}`);
      return decode(b.view.readInt32LE(st.offset));
    } catch (e) {
      if ((e as { code?: string }).code !== 'EINTR') throw e;
    }
  }
}

/** SIGKILL a child of ours and reap it; either may already have happened. */
export function killAndReap(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
  try {
    waitPid(pid);
  } catch {}
}

/**
 * waitpid on a libuv worker thread, so the main thread keeps handling
 * signals (foreground `run` forwards them to the container).
 */
export async function waitPidAsync(pid: number): Promise<ExitStatus> {
  const b = new NativeBlock(16);
  const st = b.alloc(4);
  for (;;) {
    const r = await libcCallOnWorker(
      'waitpid',
      DataType.I32,
      [DataType.I32, DataType.I64, DataType.I32],
      [pid, Number(st.address), 0],
    );
    if (r.value === pid) return decode(b.view.readInt32LE(st.offset));
    if (r.value === -1 && r.errnoCode === 4) continue; // EINTR
    throw new Error(`waitpid ${pid}: errno ${r.errnoCode}`);
  }
}
