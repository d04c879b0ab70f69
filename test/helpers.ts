/**
 * Shared test helpers: run the built CLI (dist/runts, so run `npm run build`
 * first), temporary directories removed after the test, and container
 * records for the state store.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerRecord } from '../src/container/state-store.js';
import { processStartTime } from '../src/container/status.js';
import { makeBundle } from './rootfs.js';

export const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const RUNTS = path.join(ROOT_DIR, 'dist', 'runts');

export interface RunResult {
  /** Exit code, or null when killed by `signal`. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | undefined;
  /** Milliseconds before the process is killed (default 30 s). */
  timeout?: number;
}

/** Run `dist/runts <args>` to completion. */
export function runts(args: string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(RUNTS, args, { encoding: 'utf8', timeout: 30_000, ...opts });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Run `dist/runts <args>` without blocking, so several can run at once. */
export function runtsAsync(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const spawnOpts: SpawnOptions = { cwd: opts.cwd, env: opts.env, timeout: opts.timeout ?? 30_000 };
    const child = spawn(RUNTS, args, spawnOpts);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    // A child that exits before reading its stdin closes the pipe: not an error here.
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/**
 * os.tmpdir() when every user may pass through it, else /var/tmp: on some
 * machines /tmp is 0700, and user-namespaced containers could not reach
 * bundles below it (with runc as with runts).
 */
export function traversableTmp(): string {
  const tmp = os.tmpdir();
  return (fs.statSync(tmp).mode & 0o001) !== 0 ? tmp : '/var/tmp';
}

/**
 * A fresh directory `runts-test-*` under os.tmpdir(), removed when the test
 * (or suite) `t` ends. Pass the node:test context (`t`) or anything with `after`.
 * After-hooks run in registration order: tear down what lives in the
 * directory (containers, mounts) in the test itself (try/finally) or in a
 * hook registered before calling tempDir.
 */
export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(traversableTmp(), 'runts-test-'));
  // A user-namespaced container's root (host uid 100000) must reach its bundle.
  fs.chmodSync(dir, 0o755);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Lines of the host's mountinfo that name something under `dir`. */
export function hostMountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(dir));
}

/**
 * The working area of a file of container tests: a temporary directory
 * (tempDir), a state root in it, and an after-hook, registered before the
 * directory's removal (after-hooks run in registration order), that runs
 * `cleanup` (a test's own host mounts), force-deletes any container left and
 * then fails the suite if a container or a mount under the directory was left
 * behind. `bundle(script, patch)` makes a bundle whose process runs `script`
 * with sh (`defaults` edits every config first, `patch` this one).
 */
export function containerSuite(
  after: (fn: () => void) => void,
  o: { cleanup?: () => void; defaults?: (c: Config) => void } = {},
): {
  base: string;
  root: string;
  bundle: (script: string, patch?: (c: Config, dir: string) => void) => string;
} {
  after(() => {
    o.cleanup?.();
    const left = fs.existsSync(root) ? fs.readdirSync(root) : [];
    for (const id of left) runts(['--root', root, 'delete', '--force', id]);
    assert.deepEqual(left, [], 'containers left behind');
    assert.deepEqual(hostMountsUnder(base), [], 'mounts left behind');
  });
  const base = tempDir({ after });
  const root = path.join(base, 'state');
  let n = 0;
  const bundle = (script: string, patch?: (c: Config, dir: string) => void): string => {
    const dir = path.join(base, `bundle-${++n}`);
    makeBundle(dir, (c: Config) => {
      c.process.terminal = false;
      c.process.args = ['sh', '-c', script];
      o.defaults?.(c);
      patch?.(c, dir);
    });
    return dir;
  };
  return { base, root, bundle };
}

/** Debian's runc, the reference a suite compares with on its own bundles. */
export const RUNC = '/usr/sbin/runc';

/**
 * runc's state root under a suite's `base`; every container runc still has
 * there is force-deleted after the suite. `haveRunc`: the comparison is skipped without it.
 */
export function runcReference(
  after: (fn: () => void) => void,
  base: string,
): { haveRunc: boolean; runcRoot: string } {
  const haveRunc = fs.existsSync(RUNC);
  const runcRoot = path.join(base, 'runc-state');
  after(() => {
    if (!haveRunc || !fs.existsSync(runcRoot)) return;
    for (const id of fs.readdirSync(runcRoot)) spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', id]);
  });
  return { haveRunc, runcRoot };
}

/** Container IDs runts must refuse (they could escape --root) and accept. */
export const BAD_IDS = ['../x', 'a/b', '..', '.', '', 'x'.repeat(1025), 'a b', 'a:b'];
export const GOOD_IDS = ['x'.repeat(1024), 'a_b+c.d-e', 'A9'];

/** A complete record for the state store (a stopped container unless overridden). */
export function record(id: string, over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    ociVersion: '1.2.0',
    id,
    pid: 0,
    pidStartTime: '',
    bundle: `/bundles/${id}`,
    rootfs: `/bundles/${id}/rootfs`,
    created: '2026-01-02T03:04:05.123456789Z',
    owner: '',
    config: {},
    ...over,
  };
}

/** A live process (`sleep 30`) to stand in for a container's init; killed when `t` ends. */
export function liveProcess(t: { after(fn: () => void): void }): { pid: number; startTime: string } {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => {
    child.kill('SIGKILL');
  });
  const startTime = processStartTime(child.pid!);
  assert.ok(startTime, 'sleep is running');
  return { pid: child.pid!, startTime };
}

/**
 * A --console-socket receiver: accepts one connection, takes the pty master
 * sent with SCM_RIGHTS (written in Python: Node cannot receive fds), writes
 * `input` to it, and reads it until the container side closes. `output` is
 * "listening\n" + the message's payload (the pty name) + "\n" + what was read.
 */
export async function consoleReceiver(sock: string, input = ''): Promise<{ output: Promise<string> }> {
  const receiver = spawn('python3', [
    '-c',
    `
import socket, os, sys, array
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(${JSON.stringify(sock)}); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, anc, flags, addr = c.recvmsg(4096, socket.CMSG_SPACE(4))
fd = array.array("i", anc[0][2][:4])[0]
os.write(fd, ${JSON.stringify(input)}.encode())
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d: break
    out += d
sys.stdout.write(msg.decode() + "\\n" + out.decode())
`,
  ]);
  let out = '';
  receiver.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((res) => receiver.stdout.once('data', () => res()));
  return { output: new Promise((res) => receiver.on('close', () => res(out))) };
}
