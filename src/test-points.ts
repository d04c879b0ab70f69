/**
 * Test points, for the crash and fault tests: runts reaches a named phase
 * and, when a test asked for that phase in its environment,
 * - RUNTS_TEST_PAUSE_AT=<phase>: stops for good after saying so on stderr,
 *   so the test can SIGKILL it exactly there (test/reliability/faults.test.ts);
 * - RUNTS_TEST_KILL_AT=<phase>: SIGKILLs itself there (test/integration/lifecycle.test.ts).
 *   Phases of the clone chain (spawn-init.ts, create and exec alike): clone
 *   (right after the chain started), sync (after the sync byte), booted (the
 *   init runs Node).
 * Unset, a test point is two string comparisons.
 */
import fs from 'node:fs';

const PAUSE_AT = process.env.RUNTS_TEST_PAUSE_AT;
const KILL_AT = process.env.RUNTS_TEST_KILL_AT;

export function pausePoint(phase: string): void {
  if (KILL_AT === phase) process.kill(process.pid, 'SIGKILL');
  if (PAUSE_AT !== phase) return;
  try {
    fs.writeSync(2, `runts: paused at ${phase}\n`);
  } catch {}
  const sab = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(sab, 0, 0);
}
