/** A v1 controller: how it joins a pid, writes resources, reads statistics. */
import fs from 'node:fs';
import { writeProc } from '../fsutil.js';
import type { Resources, Stats } from '../types.js';

export interface Subsystem {
  /** The subsystem name in /proc/cgroups and mountinfo ("name=systemd"; "" for the cgroup2 mount of a hybrid host). */
  name: string;
  /** Create the directory and move `pid` in. */
  apply(dir: string, r: Resources, pid: number): void;
  /** Write resources; `dir` undefined when the subsystem is not mounted (writes then throw NotMountedError). */
  set(dir: string | undefined, r: Resources): void;
  stats?(dir: string, s: Stats): void;
}

/** mkdir -p and join: what most controllers do to apply. */
export function join(dir: string, pid: number): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeProc(dir, pid);
}

export const noSet = (): void => {};
