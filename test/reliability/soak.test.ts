/**
 * Soak: many create/start/wait/delete cycles and `run -d`/kill/delete
 * cycles on real containers; before and after, nothing differs (state
 * directories, cgroups, mounts, processes, zombies, temp files, this
 * process's fds, the fds a new container's init holds). Reports the time per
 * cycle against runc on the same cycles (fewer of them).
 *
 * Counts: RUNTS_SOAK_CYCLES, RUNTS_SOAK_RUN_CYCLES, RUNTS_SOAK_RUNC_CYCLES
 * (see the README for the CI defaults and why).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { assertNoLeftovers, envCount, ownFds, reliabilitySuite } from './lib.js';

const CYCLES = envCount('RUNTS_SOAK_CYCLES', 100);
const RUN_CYCLES = envCount('RUNTS_SOAK_RUN_CYCLES', 30);
const RUNC_CYCLES = envCount('RUNTS_SOAK_RUNC_CYCLES', 10);
const RUNC = '/usr/sbin/runc';

const s = reliabilitySuite(after);
const once = s.bundle('true');
const long = s.bundle('sleep 1000');
const pidFile = path.join(s.base, 'pid');

const sab = new Int32Array(new SharedArrayBuffer(4));
function waitGone(pid: number): void {
  for (let i = 0; fs.existsSync(`/proc/${pid}`) && !/\) [ZX] /.test(readStat(pid)); i++) {
    assert.ok(i < 20_000, `pid ${pid} did not exit`);
    Atomics.wait(sab, 0, 0, 2);
  }
}
function readStat(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return ') X ';
  }
}

type Runner = (args: string[]) => { status: number | null; stderr: string };
const runtsRun: Runner = (args) => s.run(args);
const runcErr = path.join(s.base, 'runc-stderr');
const runcRun: Runner = (args) => {
  // stderr to a file: runc's init keeps a pipe open as long as the container lives.
  const fd = fs.openSync(runcErr, 'w');
  try {
    const r = spawnSync(RUNC, ['--root', path.join(s.base, 'runc-state'), ...args], {
      stdio: ['ignore', 'ignore', fd],
      timeout: 30_000,
    });
    return { status: r.status, stderr: fs.readFileSync(runcErr, 'utf8') };
  } finally {
    fs.closeSync(fd);
  }
};

function ok(r: { status: number | null; stderr: string }, what: string): void {
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
}

/** create, start, wait for the process to exit, delete. Returns the init's fd count after create. */
function lifecycle(run: Runner, id: string): number {
  ok(run(['create', '--bundle', once, '--pid-file', pidFile, id]), `create ${id}`);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  ok(run(['start', id]), `start ${id}`);
  waitGone(pid);
  ok(run(['delete', id]), `delete ${id}`);
  return fds;
}

/** run -d, kill, wait, delete. */
function detached(run: Runner, id: string): void {
  ok(run(['run', '-d', '--bundle', long, '--pid-file', pidFile, id]), `run -d ${id}`);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  ok(run(['kill', id, 'KILL']), `kill ${id}`);
  waitGone(pid);
  ok(run(['delete', id]), `delete ${id}`);
}

function timed(n: number, fn: (i: number) => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return n === 0 ? 0 : Number(process.hrtime.bigint() - t0) / 1e6 / n;
}

test(`soak: ${CYCLES} create/start/wait/delete and ${RUN_CYCLES} run -d/kill/delete cycles leave nothing`, (t) => {
  const before = s.leftovers();
  const fdsBefore = ownFds();
  const initFds: number[] = [];
  const perCycle = timed(CYCLES, (i) => initFds.push(lifecycle(runtsRun, `soak-${i}`)));
  const perRun = timed(RUN_CYCLES, (i) => detached(runtsRun, `run-${i}`));
  assertNoLeftovers(s, before, 'the soak');
  assert.equal(ownFds(), fdsBefore, 'fds of the test process');
  assert.deepEqual([...new Set(initFds)], initFds.slice(0, 1), 'every init holds the same number of fds');

  let line = `runts: ${perCycle.toFixed(0)} ms per create/start/wait/delete cycle, ${perRun.toFixed(0)} ms per run -d/kill/delete cycle`;
  if (fs.existsSync(RUNC) && RUNC_CYCLES > 0) {
    const runcCycle = timed(RUNC_CYCLES, (i) => lifecycle(runcRun, `runc-soak-${i}`));
    const runcRunCycle = timed(RUNC_CYCLES, (i) => detached(runcRun, `runc-run-${i}`));
    line += `; runc (${RUNC_CYCLES} each): ${runcCycle.toFixed(0)} and ${runcRunCycle.toFixed(0)} ms (runts/runc ${(perCycle / runcCycle).toFixed(1)}x and ${(perRun / runcRunCycle).toFixed(1)}x)`;
  }
  t.diagnostic(line);
  console.log(line);
});
