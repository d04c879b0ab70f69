/** cgroup.freeze (v2): write, then wait for cgroup.events to say frozen. */
import fs from 'node:fs';
import path from 'node:path';
import { sleepMs } from '../../linux/sleep.js';
import { readOptional, writeFile } from '../fsutil.js';
import type { FreezerState } from '../types.js';

function waitFrozen(dir: string): FreezerState {
  for (let i = 0; i < 1000; i++) {
    const events = fs.readFileSync(path.join(dir, 'cgroup.events'), 'utf8');
    const m = /^frozen (\d)/m.exec(events);
    if (!m) return '';
    if (m[1] === '1') return 'FROZEN';
    sleepMs(10);
  }
  throw new Error('timeout of 10s reached waiting for the cgroup to freeze');
}

export function freezerStateV2(dir: string): FreezerState {
  let v: string | undefined;
  try {
    v = readOptional(dir, 'cgroup.freeze');
  } catch {
    return '';
  }
  if (v === undefined) return '';
  if (v === '0\n') return 'THAWED';
  if (v === '1\n') return waitFrozen(dir);
  throw new Error(`unknown "cgroup.freeze" state: ${JSON.stringify(v)}`);
}

export function setFreezerV2(dir: string, state: FreezerState): void {
  if (state === '') return;
  if (!fs.existsSync(path.join(dir, 'cgroup.freeze'))) {
    if (state !== 'FROZEN') return;
    throw new Error('freezer not supported: cgroup.freeze is missing');
  }
  writeFile(dir, 'cgroup.freeze', state === 'FROZEN' ? '1' : '0');
  const actual = freezerStateV2(dir);
  if (actual !== state)
    throw new Error(
      `expected "cgroup.freeze" to be in state ${JSON.stringify(state)} but was in ${JSON.stringify(actual)}`,
    );
}
