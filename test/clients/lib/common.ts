/**
 * Shared plumbing for the client suites (containerd, podman, Docker):
 * the runtime under test (a snapshot of dist/ or CLIENT_RUNTIME), a wrapper
 * that logs every runtime invocation, command runners, and the clean-up of
 * what the clients leave (processes by PID, mounts under our temp dir,
 * cgroups under our own parent names only).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes (for byte-exact checks). */
  out: Buffer;
}

export interface RunOpts {
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  timeout?: number;
  cwd?: string;
}

/** Run a command to completion (stdin from `input`, or /dev/null). */
export function run(cmd: string, args: string[], opts: RunOpts = {}): Result {
  const r = spawnSync(cmd, args, {
    env: opts.env,
    cwd: opts.cwd,
    input: opts.input ?? '',
    timeout: opts.timeout ?? 60_000,
    maxBuffer: 64 << 20,
    killSignal: 'SIGKILL',
  });
  if (r.error && !(r.error as NodeJS.ErrnoException).code?.startsWith('ETIMEDOUT')) throw r.error;
  // null when the caller's stdio ignores a stream (Node's types say Buffer).
  const out = (r.stdout as Buffer | null) ?? Buffer.alloc(0);
  return {
    status: r.status,
    signal: r.signal,
    out,
    stdout: out.toString('utf8'),
    stderr: ((r.stderr as Buffer | null) ?? Buffer.alloc(0)).toString('utf8'),
  };
}

/** The same without blocking, so a test can act on the container meanwhile. */
export function runAsync(
  cmd: string,
  args: string[],
  opts: RunOpts & { stdio?: SpawnOptions['stdio'] } = {},
): {
  pid: number;
  done: Promise<Result>;
} {
  const child = spawn(cmd, args, {
    env: opts.env,
    cwd: opts.cwd,
    stdio: opts.stdio ?? ['pipe', 'pipe', 'pipe'],
  });
  const outs: Buffer[] = [];
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => outs.push(b));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin?.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 60_000);
  const done = new Promise<Result>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const out = Buffer.concat(outs);
      resolve({ status, signal, out, stdout: out.toString('utf8'), stderr });
    });
  });
  return { pid: child.pid!, done };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value or `ms` pass. */
export async function waitFor<T>(fn: () => T | Promise<T>, ms = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A short unique tag for names of this run (cgroup parents, namespaces). */
export const TAG = `${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;

/**
 * A fresh temp dir (mode 0711 so containers' non-root users, and the mapped
 * root of a user namespace, can reach bundles and binds). Under /var/tmp
 * when the temp dir is not searchable by others (/tmp is 0700 here).
 */
export function makeTempDir(prefix: string): string {
  const parent = fs.statSync(os.tmpdir()).mode & 0o001 ? os.tmpdir() : '/var/tmp';
  const dir = fs.mkdtempSync(path.join(parent, prefix));
  fs.chmodSync(dir, 0o711);
  return dir;
}

// ---------------------------------------------------------------- runtime

export interface Runtime {
  /** 'runts' or the basename of CLIENT_RUNTIME. */
  /** 'runts', 'runc', or another runtime's name. */
  kind: string;
  isRunts: boolean;
  /** The real binary (the dist/ snapshot's runts, or CLIENT_RUNTIME). */
  real: string;
  /** The wrapper clients call: <dir>/bin/runts (and <dir>/bin/runc, the same). */
  wrapper: string;
  /** Directory holding the wrappers, to put first in a daemon's PATH. */
  binDir: string;
  /** One line per runtime invocation: time, pid, argv. */
  log: string;
}

/**
 * The runtime under test. CLIENT_RUNTIME=/usr/sbin/runc runs the suite on
 * runc; by default dist/ is copied into `dir` (with node_modules linked
 * beside it), so other engineers' rebuilds of dist/ do not change the
 * runtime under a running suite.
 */
export function setupRuntime(dir: string): Runtime {
  const binDir = path.join(dir, 'bin');
  fs.mkdirSync(binDir, { recursive: true });
  let real = process.env.CLIENT_RUNTIME;
  if (!real) {
    const snap = path.join(dir, 'runts');
    fs.mkdirSync(snap, { recursive: true });
    fs.symlinkSync(path.join(ROOT_DIR, 'node_modules'), path.join(snap, 'node_modules'));
    real = path.join(snap, 'dist', 'runts');
    for (let i = 0; ; i++) {
      fs.rmSync(path.join(snap, 'dist'), { recursive: true, force: true });
      try {
        fs.cpSync(path.join(ROOT_DIR, 'dist'), path.join(snap, 'dist'), { recursive: true });
        execFileSync(real, ['--version'], { stdio: 'pipe', timeout: 30_000 });
        break;
      } catch (e) {
        // dist/ is swapped atomically by `npm run build`, but a copy may still
        // straddle two builds; try again.
        if (i >= 10)
          throw new Error(`cannot snapshot ${ROOT_DIR}/dist (run npm run build): ${(e as Error).message}`, {
            cause: e,
          });
        execFileSync('sleep', ['1']);
      }
    }
  }
  real = path.resolve(real);
  const log = path.join(dir, 'runtime-calls.log');
  fs.writeFileSync(log, '');
  const script = `#!/bin/sh\nprintf '%s [%s] %s\\n' "$(date +%T.%N)" "$$" "$*" >> '${log}'\nexec '${real}' "$@"\n`;
  for (const name of ['runts', 'runc']) fs.writeFileSync(path.join(binDir, name), script, { mode: 0o755 });
  const base = path.basename(real);
  const kind = process.env.CLIENT_RUNTIME ? base : 'runts';
  return { kind, isRunts: kind === 'runts', real, wrapper: path.join(binDir, 'runts'), binDir, log };
}

/** The last runtime invocations (for failure messages). */
export function lastCalls(rt: Runtime, n = 12): string {
  try {
    const lines = fs.readFileSync(rt.log, 'utf8').trimEnd().split('\n');
    return lines
      .slice(-n)
      .map((l) => (l.length > 400 ? l.slice(0, 400) + '…' : l))
      .join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------- processes

export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** PIDs whose command line contains `needle` (our unique temp paths). */
export function pidsWithCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(needle)) out.push(Number(e));
    } catch {}
  }
  return out;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the PIDs are gone. */
export async function stopPids(pids: number[], graceMs = 10_000): Promise<void> {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {}
  }
  const end = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < end) await sleep(100);
  for (const p of pids.filter(alive)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {}
  }
  const end2 = Date.now() + 5000;
  while (pids.some(alive) && Date.now() < end2) await sleep(50);
}

// ---------------------------------------------------------------- mounts

/** Mount points (as the host sees them) under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const mi = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const unesc = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  return mi
    .split('\n')
    .filter(Boolean)
    .map((l) => unesc(l.split(' ')[4] ?? assert.fail(`short mountinfo line: ${l}`)))
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

/** Mount points whose line in mountinfo mentions `needle` (e.g. a container id). */
export function mountsMentioning(needle: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(needle));
}

export function unmountUnder(dir: string): void {
  for (let i = 0; i < 5; i++) {
    const ms = mountsUnder(dir);
    if (!ms.length) return;
    for (const m of ms) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  }
}

// ---------------------------------------------------------------- cgroups

/** Every cgroup hierarchy mounted under /sys/fs/cgroup (v1 controllers, unified). */
export function cgroupRoots(): string[] {
  const roots = new Set<string>();
  for (const l of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const parts = l.split(' ');
    const sep = parts.indexOf('-');
    if (sep < 0) continue;
    const fstype = parts[sep + 1];
    const mountPoint = parts[4] ?? '';
    if ((fstype === 'cgroup' || fstype === 'cgroup2') && mountPoint.startsWith('/sys/fs/cgroup'))
      roots.add(mountPoint);
  }
  return [...roots];
}

/** Where `rel` (a cgroup path like /parent/id) exists, in any hierarchy. */
export function cgroupDirs(rel: string): string[] {
  return cgroupRoots()
    .map((r) => path.join(r, rel))
    .filter((p) => fs.existsSync(p));
}

/**
 * Remove the cgroup `rel` (one our test created: its parent name carries
 * TAG) in every hierarchy: thaw it, kill what is left in it, rmdir bottom-up.
 */
export async function removeCgroupTree(rel: string): Promise<string[]> {
  if (!rel.includes(TAG)) throw new Error(`refusing to remove cgroup ${rel}: not one of ours`);
  const left: string[] = [];
  for (const top of cgroupDirs(rel)) {
    const dirs: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true }))
        if (e.isDirectory()) walk(path.join(d, e.name));
      dirs.push(d);
    };
    walk(top);
    for (const d of dirs) {
      try {
        if (fs.existsSync(path.join(d, 'freezer.state')))
          fs.writeFileSync(path.join(d, 'freezer.state'), 'THAWED');
        if (fs.existsSync(path.join(d, 'cgroup.freeze')))
          fs.writeFileSync(path.join(d, 'cgroup.freeze'), '0');
      } catch {}
      let procs: number[] = [];
      try {
        procs = fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
      } catch {}
      if (procs.length) {
        left.push(`${d}: ${procs.join(',')}`);
        for (const p of procs) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {}
        }
      }
    }
    for (const d of dirs) {
      for (let i = 0; i < 50; i++) {
        try {
          fs.rmdirSync(d);
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
          await sleep(100);
        }
      }
    }
  }
  return left;
}

/** The cgroup paths of a process (/proc/PID/cgroup), by controller list. */
export function procCgroups(pid: number | string): Partial<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const l of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [, ctl, p = ''] = l.match(/^\d+:([^:]*):(.*)$/)!;
    out[ctl || 'unified'] = p;
  }
  return out;
}

/** A file of the memory (v1) or unified (v2) cgroup at `rel`, as the host sees it. */
export function readCgroupFile(ctrl: string, rel: string, file: string): string | undefined {
  for (const r of cgroupRoots()) {
    if (!(path.basename(r).split(',').includes(ctrl) || r === '/sys/fs/cgroup')) continue;
    const p = path.join(r, rel, file);
    if (fs.existsSync(p)) return fs.readFileSync(p, 'utf8').trim();
  }
  return undefined;
}

// ---------------------------------------------------------------- tty

/** The client sets the window size after start: poll for it (into $s). */
export const WAIT_WINSIZE =
  'for i in $(seq 50); do s=$(stty size 2>/dev/null); case "$s" in [1-9]*) break;; esac; sleep 0.1; done';

/** Run `cmdline` (a shell command line) under `script`, on a fresh pty. */
export function inPty(cmdline: string, opts: RunOpts = {}): Result {
  return run('script', ['-qec', cmdline, '/dev/null'], { timeout: 60_000, ...opts });
}

export function shellQuote(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** One random-ish megabyte, deterministic, with every byte value present. */
export function mebibyte(): Buffer {
  const b = Buffer.alloc(1 << 20);
  let x = 0x12345678;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Format a result for assertion messages. */
export function show(r: Result, rt?: Runtime): string {
  const cut = (s: string) => (s.length > 2000 ? s.slice(0, 2000) + '…' : s);
  return `status=${r.status} signal=${r.signal}\nstdout: ${cut(r.stdout)}\nstderr: ${cut(r.stderr)}${rt ? `\nlast runtime calls:\n${lastCalls(rt)}` : ''}`;
}
