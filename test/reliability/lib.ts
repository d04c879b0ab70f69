/**
 * The reliability suite's working area and its leak check. Each test file
 * gets a temporary directory (bundles, a state root, a private TMPDIR for
 * the runts processes it starts) and a parent cgroup of its own
 * (/runts-rel-<pid> in every hierarchy); `leftovers()` lists everything
 * runts could leave: state directories, cgroups under that parent, mounts
 * under the directory, processes and zombies that belong to it, files in its
 * TMPDIR, and (ownFds) this process's own open fds. Everything is removed when the
 * file's tests end.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cgroupMounts } from '../../src/cgroups/mounts.js';
import { removePath } from '../../src/cgroups/fsutil.js';
import { RUNTS, hostMountsUnder, tempDir, type RunResult } from '../helpers.js';
import { makeBundle } from '../rootfs.js';

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A count from the environment (CI defaults in the code, README says which). */
export function envCount(name: string, ci: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return ci;
  const n = Number(v);
  assert.ok(Number.isInteger(n) && n >= 0, `${name} must be a count, got ${v}`);
  return n;
}

export interface Leftovers {
  containers: string[];
  cgroups: string[];
  mounts: string[];
  processes: string[];
  zombies: string[];
  tmpFiles: string[];
}

/** This process's open fds (the soak compares them before and after). */
export function ownFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

export interface Suite {
  base: string;
  root: string;
  /** The parent cgroup (inner path) of this file's containers. */
  parent: string;
  env: NodeJS.ProcessEnv;
  bundle(script: string, patch?: (c: Config, dir: string) => void): string;
  /** runts with this suite's --root and environment. */
  run(args: string[], opts?: { timeout?: number; env?: NodeJS.ProcessEnv }): RunResult;
  runAsync(args: string[], opts?: { timeout?: number; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  leftovers(): Leftovers;
}

function procText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Every cgroup directory below `dir`, deepest first. */
function cgroupTree(dir: string): string[] {
  const out: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const sub = path.join(dir, e.name);
    out.push(...cgroupTree(sub), sub);
  }
  return out;
}

export function reliabilitySuite(after: (fn: () => void | Promise<void>) => void): Suite {
  const parent = `/runts-rel-${process.pid}`;
  const parentDirs = () => cgroupMounts().map((m) => path.join(m.mountpoint, parent));
  // Registered before tempDir's removal (after-hooks run in order).
  after(() => {
    const left = fs.existsSync(root) ? fs.readdirSync(root) : [];
    for (const id of left)
      spawnSync(RUNTS, ['--root', root, 'delete', '--force', id], { env, timeout: 30_000 });
    const cg: string[] = [];
    for (const d of parentDirs()) {
      if (!fs.existsSync(d)) continue;
      for (const sub of cgroupTree(d)) removePath(sub);
      for (let i = 0; i < 50 && !removePath(d); i++) spawnSync('sleep', ['0.1']);
      if (fs.existsSync(d)) cg.push(d);
    }
    assert.deepEqual(cg, [], 'parent cgroups left behind');
    assert.deepEqual(hostMountsUnder(base), [], 'mounts left behind');
  });
  const base = tempDir({ after });
  const root = path.join(base, 'state');
  const tmp = path.join(base, 'tmp');
  fs.mkdirSync(tmp, { mode: 0o1777 });
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  // Benchmarked as clients run runts: without a CA bundle to load.
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.RUNTS_TEST_PAUSE_AT;
  let n = 0;

  const bundle = (script: string, patch?: (c: Config, dir: string) => void): string => {
    const dir = path.join(base, `bundle-${++n}`);
    makeBundle(dir, (c: Config) => {
      c.process.terminal = false;
      c.process.args = ['sh', '-c', script];
      c.linux.cgroupsPath = `${parent}/bundle-${n}`;
      patch?.(c, dir);
    });
    return dir;
  };

  // Output goes to files, not pipes: a container's init inherits runts'
  // stdio, and a pipe would stay open as long as the container lives.
  let outN = 0;
  const outFiles = () => {
    const f = path.join(base, `out-${process.pid}-${++outN}`);
    return { out: `${f}.1`, err: `${f}.2` };
  };
  const collect = (f: { out: string; err: string }) => {
    const r = { stdout: fs.readFileSync(f.out, 'utf8'), stderr: fs.readFileSync(f.err, 'utf8') };
    fs.rmSync(f.out);
    fs.rmSync(f.err);
    return r;
  };

  const run: Suite['run'] = (args, opts = {}) => {
    const f = outFiles();
    const fds = [fs.openSync(f.out, 'w'), fs.openSync(f.err, 'w')];
    let r: ReturnType<typeof spawnSync>;
    try {
      r = spawnSync(RUNTS, ['--root', root, ...args], {
        stdio: ['ignore', fds[0], fds[1]],
        timeout: opts.timeout ?? 30_000,
        env: { ...env, ...opts.env },
      });
    } finally {
      fds.forEach((fd) => fs.closeSync(fd));
    }
    if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
    return { status: r.status, signal: r.signal, ...collect(f) };
  };

  const runAsync: Suite['runAsync'] = (args, opts = {}) =>
    new Promise((resolve, reject) => {
      const f = outFiles();
      const fds = [fs.openSync(f.out, 'w'), fs.openSync(f.err, 'w')];
      const child = spawn(RUNTS, ['--root', root, ...args], {
        timeout: opts.timeout ?? 30_000,
        env: { ...env, ...opts.env },
        stdio: ['ignore', fds[0], fds[1]],
      });
      fds.forEach((fd) => fs.closeSync(fd));
      child.on('error', reject);
      child.on('exit', (status, signal) => resolve({ status, signal, ...collect(f) }));
    });

  /** A process is this suite's when its command line, an open fd or its cgroup names the suite's directory or parent cgroup. */
  const ours = (pid: string): boolean => {
    if (procText(`/proc/${pid}/cmdline`).includes(base)) return true;
    if (procText(`/proc/${pid}/cgroup`).includes(parent + '/')) return true;
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {}
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(base + '/')) return true;
      } catch {}
    }
    return false;
  };

  const leftovers = (): Leftovers => {
    const processes: string[] = [];
    const zombies: string[] = [];
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
      const stat = procText(`/proc/${pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const desc = () =>
        `${pid} ${procText(`/proc/${pid}/cmdline`).replace(/\0/g, ' ').trim().slice(0, 200)}`;
      // Zombies: any of the suite's that a live
      // parent fails to reap. An orphan's zombie waits for the host's PID 1,
      // which on this machine kind (not systemd) may reap it seconds later:
      // not something runts holds.
      if (fields[0] === 'Z') {
        const ppid = Number(fields[1]);
        // Our own children are reaped by Node's event loop, which this
        // synchronous check blocks: a job of the other fuzz worker that just
        // ended waits there, not a leak.
        if (ppid !== process.pid && ppid !== 1 && ours(pid)) zombies.push(`${desc()} (parent ${ppid})`);
      } else if (ours(pid)) processes.push(desc());
    }
    return {
      containers: fs.existsSync(root) ? fs.readdirSync(root).sort() : [],
      cgroups: parentDirs().flatMap(cgroupTree).sort(),
      mounts: hostMountsUnder(base),
      processes,
      zombies,
      tmpFiles: fs.readdirSync(tmp).sort(),
    };
  };

  return { base, root, parent, env, bundle, run, runAsync, leftovers };
}

/** Nothing of runts' left: the same as `before` (the empty state, where this file's work starts). */
export function assertNoLeftovers(s: Suite, before: Leftovers, what: string): void {
  // A process killed just now may take a moment to be reaped by its new parent.
  let now = s.leftovers();
  for (let i = 0; i < 100 && (now.processes.length || now.zombies.length); i++) {
    spawnSync('sleep', ['0.05']);
    now = s.leftovers();
  }
  assert.deepEqual(now, before, `left behind after ${what}`);
}

/**
 * Run runts with RUNTS_TEST_PAUSE_AT=`phase`, wait until it says it paused
 * there, and SIGKILL it: a crash at exactly that point.
 */
export function killAtPhase(
  s: Suite,
  args: string[],
  phase: string,
): Promise<{ reached: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(RUNTS, ['--root', s.root, ...args], {
      env: { ...s.env, RUNTS_TEST_PAUSE_AT: phase },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let reached = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!reached && stderr.includes(`runts: paused at ${phase}\n`)) {
        reached = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    // 'exit', not 'close': an orphan of the killed runts may keep its stderr open.
    child.on('exit', () => {
      clearTimeout(timer);
      child.stderr.destroy();
      resolve({ reached, stderr });
    });
  });
}
