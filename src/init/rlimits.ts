/**
 * process.rlimits for the init and `runts exec`, in three steps. The
 * container's limits are for its program, not for the Node process that
 * prepares it: runc sets them from the parent while its small Go init
 * needs almost nothing, but Node opens files and maps memory up to the
 * last step (RLIMIT_NOFILE 16 killed it where runc's init lives with 8;
 * RLIMIT_AS 100 MB or RLIMIT_DATA 32 MB, which Node already exceeds, made
 * its next allocation abort).
 *
 * 1. applyRlimits, where the init sets up the process: every limit that
 *    cannot hurt Node; of the others only a raised hard limit (that needs
 *    CAP_SYS_RESOURCE, which the process may lose).
 * 2. deferred.beforeSeccomp (open files, processes, stack), right before
 *    seccomp and the credentials: no file is opened after them.
 * 3. deferred.last() (address space, data): after seccomp, right before
 *    execve, through calls prepared in step 1 that allocate nothing.
 * Only lowering happens after step 1, which needs no privilege.
 */
import { getrlimit, preparedRlimits, setrlimit } from '../linux/rlimit.js';

export interface Rlimit {
  type: string;
  soft: number | bigint;
  hard: number | bigint;
}

export interface DeferredRlimits {
  beforeSeccomp: Rlimit[];
  last: () => void;
}

/** Limits on what Node holds: open files, tasks, stack. */
const BEFORE_SECCOMP = new Set(['RLIMIT_NOFILE', 'RLIMIT_NPROC', 'RLIMIT_STACK']);
/** Limits Node's own mappings already exceed. */
const LAST = new Set(['RLIMIT_AS', 'RLIMIT_DATA']);

export function applyRlimits(list: Rlimit[] | undefined): DeferredRlimits {
  const beforeSeccomp: Rlimit[] = [];
  const last: Array<{ type: string; soft: bigint; hard: bigint }> = [];
  for (const r of list ?? []) {
    const soft = BigInt(r.soft);
    const hard = BigInt(r.hard);
    if (!BEFORE_SECCOMP.has(r.type) && !LAST.has(r.type)) {
      setrlimit(r.type, soft, hard);
      continue;
    }
    const [curSoft, curHard] = getrlimit(r.type);
    if (BigInt.asUintN(64, hard) > curHard) {
      try {
        setrlimit(r.type, curSoft, hard);
      } catch {
        // The same refusal, reported with the limits the config asked for.
        setrlimit(r.type, soft, hard);
      }
    }
    if (LAST.has(r.type)) last.push({ type: r.type, soft, hard });
    else beforeSeccomp.push(r);
  }
  return { beforeSeccomp, last: preparedRlimits(last) };
}

export function applyDeferredRlimits(d: DeferredRlimits): void {
  for (const r of d.beforeSeccomp) setrlimit(r.type, BigInt(r.soft), BigInt(r.hard));
}
