/**
 * `scenario(rt, name, [opts], fn)`: a node:test test whose `runtsTodo`
 * reason marks it todo on runts only (a runts feature not built yet), so
 * it runs, reports, and does not fail the suite; on runc it is a plain test.
 * `skip` is for what this machine kind cannot do, for every runtime.
 */
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import type { Runtime } from './common.js';

export interface ScenarioOpts {
  /** Why runts cannot pass this yet (a feature in progress): todo on runts only. */
  runtsTodo?: string;
  /** Why this machine cannot run it (for any runtime). */
  skip?: string;
  timeout?: number;
}

type Fn = () => void | Promise<void>;

export function scenario(rt: Runtime, name: string, optsOrFn: ScenarioOpts | Fn, maybeFn?: Fn): void {
  const opts = typeof optsOrFn === 'function' ? {} : optsOrFn;
  const fn = (typeof optsOrFn === 'function' ? optsOrFn : maybeFn)!;
  const todo = rt.isRunts && opts.runtsTodo ? opts.runtsTodo : undefined;
  test(name, { todo, skip: opts.skip, timeout: opts.timeout ?? 120_000 }, async () => {
    await fn();
  });
}

/** True when every named program is on PATH. */
export function clientAvailable(bins: string[]): boolean {
  return bins.every((b) => spawnSync('sh', ['-c', `command -v ${b}`], { stdio: 'ignore' }).status === 0);
}
