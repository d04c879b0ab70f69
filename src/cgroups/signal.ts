/** Signalling every process of a container through its cgroup. */
import type { Manager } from './types.js';
import { warn } from '../output.js';

/**
 * runc's signalAllProcesses: freeze so that nothing forks meanwhile, signal
 * every pid, thaw (a frozen task handles the signal once thawed).
 */
export function signalAllFrozen(m: Manager, signal: number): void {
  let frozen = false;
  try {
    m.freeze('FROZEN');
    frozen = true;
  } catch (e) {
    warn((e as Error).message);
  }
  try {
    for (const pid of m.allPids()) {
      try {
        process.kill(pid, signal);
      } catch {}
    }
  } finally {
    if (frozen) {
      try {
        m.freeze('THAWED');
      } catch (e) {
        warn((e as Error).message);
      }
    }
  }
}
