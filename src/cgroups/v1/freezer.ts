/** freezer (v1): freeze (retrying while FREEZING, as runc) and thaw. */
import { sleepMs } from '../../linux/sleep.js';
import { readOptional, readFile, writeFile } from '../fsutil.js';
import type { FreezerState } from '../types.js';
import { join, type Subsystem } from './subsystem.js';
import { errnoOf } from '../../linux/errno.js';

export function setFreezerV1(dir: string | undefined, state: FreezerState): void {
  if (state === '') return;
  if (state === 'THAWED') {
    writeFile(dir, 'freezer.state', 'THAWED');
    return;
  }
  try {
    // A task forking or in an uninterruptible sleep may keep the cgroup FREEZING:
    // keep asking, and every 50 tries thaw briefly so it can get out of the way.
    for (let i = 0; i < 1000; i++) {
      if (i % 50 === 49) {
        writeFile(dir, 'freezer.state', 'THAWED');
        sleepMs(10);
      }
      writeFile(dir, 'freezer.state', 'FROZEN');
      if (i % 25 === 24) sleepMs(1);
      const st = readFile(dir, 'freezer.state').trim();
      if (st === 'FREEZING') continue;
      if (st === 'FROZEN') return;
      throw new Error(`unexpected state ${st} while freezing`);
    }
    throw new Error('unable to freeze');
  } catch (e) {
    try {
      writeFile(dir, 'freezer.state', 'THAWED');
    } catch {}
    throw e;
  }
}

export function freezerStateV1(dir: string | undefined): FreezerState {
  if (!dir) return '';
  for (;;) {
    let st: string | undefined;
    try {
      st = readOptional(dir, 'freezer.state');
    } catch (e) {
      if (errnoOf(e) === 'ENODEV') return '';
      throw e;
    }
    if (st === undefined) return '';
    switch (st.trim()) {
      case 'THAWED':
        return 'THAWED';
      case 'FROZEN': {
        // Frozen because a parent is, not by itself: not paused.
        const self = readOptional(dir, 'freezer.self_freezing');
        if (self === undefined) return 'FROZEN';
        return self.trim() === '1' ? 'FROZEN' : 'THAWED';
      }
      case 'FREEZING':
        sleepMs(1);
        continue;
      default:
        throw new Error(`unknown freezer.state ${JSON.stringify(st)}`);
    }
  }
}

export const freezer: Subsystem = {
  name: 'freezer',
  apply: (dir, _r, pid) => join(dir, pid),
  set: (dir, r) => setFreezerV1(dir, r.freezer),
};
