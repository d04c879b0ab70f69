/**
 * process.rlimits for the init and `runts exec`, in two steps. The
 * container's limits are for its program, not for the Node process that
 * prepares it: runc sets them from the parent while its small Go init
 * needs almost nothing, but Node opens files and maps memory up to the
 * last step (RLIMIT_NOFILE 16 would kill it where runc's init lives with
 * 8). So the limits that could starve Node are set last, right before
 * the credentials change and seccomp; only the part that needs privilege
 * (raising a hard limit) is done early, where the others are set.
 */
import { getrlimit, setrlimit } from '../linux/rlimit.js';

export interface Rlimit {
  type: string;
  soft: number | bigint;
  hard: number | bigint;
}

/** Limits that Node itself runs into: open files, memory, stack, threads. */
const DEFERRED = new Set(['RLIMIT_NOFILE', 'RLIMIT_AS', 'RLIMIT_DATA', 'RLIMIT_STACK', 'RLIMIT_NPROC']);

/**
 * Set every limit that cannot hurt Node now; of the others, only raise the
 * hard limit now (it needs CAP_SYS_RESOURCE, which the process may lose).
 * Returns the limits to give applyDeferredRlimits.
 */
export function applyRlimits(list: Rlimit[] | undefined): Rlimit[] {
  const deferred: Rlimit[] = [];
  for (const r of list ?? []) {
    const soft = BigInt(r.soft);
    const hard = BigInt(r.hard);
    if (!DEFERRED.has(r.type)) {
      setrlimit(r.type, soft, hard);
      continue;
    }
    const [curSoft, curHard] = getrlimit(r.type);
    if (BigInt.asUintN(64, hard) > curHard) setrlimit(r.type, curSoft, hard);
    deferred.push(r);
  }
  return deferred;
}

/** The rest: only lowering from here on, which needs no privilege. */
export function applyDeferredRlimits(list: Rlimit[]): void {
  for (const r of list) setrlimit(r.type, BigInt(r.soft), BigInt(r.hard));
}
