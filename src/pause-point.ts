/**
 * Test pause points: with RUNTS_TEST_PAUSE_AT=<phase>, runts stops for good
 * when it reaches that phase, after saying so on stderr, so a fault test can
 * SIGKILL it exactly there (test/reliability/faults.test.ts). Unset, a pause
 * point is one string comparison.
 */
import fs from 'node:fs';

const PAUSE_AT = process.env.RUNTS_TEST_PAUSE_AT;

export function pausePoint(phase: string): void {
  if (PAUSE_AT !== phase) return;
  try {
    fs.writeSync(2, `runts: paused at ${phase}\n`);
  } catch {}
  const sab = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(sab, 0, 0);
}
