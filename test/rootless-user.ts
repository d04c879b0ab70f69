/**
 * An ordinary user for rootless tests: made with useradd, given a range of
 * /etc/subuid and /etc/subgid, and removed (with those lines) when the suite
 * ends. `runAs` runs a command as that user with a clean environment of the
 * test's choosing.
 *
 * The user runs runts itself, so runts must be reachable: a clone under a
 * directory only root may enter (/root is 0700) is copied (dist, package.json
 * and the ffi-rs addon) into the suite's temporary directory.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT_DIR } from './helpers.js';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  /** The first id of the user's /etc/subuid and /etc/subgid range. */
  subStart: number;
  subCount: number;
}

export interface AsUserResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const SUB_COUNT = 65536;

/** Ranges of /etc/subuid or /etc/subgid already given to someone. */
function takenRanges(file: string): Array<[number, number]> {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {}
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length === 3)
    .map((f) => [Number(f[1]), Number(f[1]) + Number(f[2])]);
}

function freeSubRange(): number {
  const taken = [...takenRanges('/etc/subuid'), ...takenRanges('/etc/subgid')];
  for (let start = 1_000_000 + (process.pid % 512) * SUB_COUNT; ; start += SUB_COUNT) {
    if (!taken.some(([a, b]) => start < b && a < start + SUB_COUNT)) return start;
  }
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

/** Create the user now; it is removed by the hook registered on `after`. */
export function createTestUser(after: (fn: () => void) => void, prefix: string): TestUser {
  const name = `${prefix}${process.pid % 100000}`;
  const subStart = freeSubRange();
  after(() => removeTestUser(name));
  sh('useradd', ['--system', '--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name]);
  const range = `${subStart}-${subStart + SUB_COUNT - 1}`;
  sh('usermod', ['--add-subuids', range, '--add-subgids', range, name]);
  const id = (flag: string) => Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
  return { name, uid: id('-u'), gid: id('-g'), subStart, subCount: SUB_COUNT };
}

function removeTestUser(name: string): void {
  // What the user may have left running would keep userdel from working.
  spawnSync('pkill', ['-KILL', '-u', name]);
  spawnSync('userdel', [name]);
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    try {
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      const kept = lines.filter((l) => !l.startsWith(`${name}:`));
      if (kept.length !== lines.length) fs.writeFileSync(file, kept.join('\n'));
    } catch {}
  }
}

/** True when `user` may open `file` (read and, for a directory chain, pass through). */
function reachableBy(user: TestUser, file: string): boolean {
  const r = spawnSync(
    'setpriv',
    ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups', 'test', '-r', file],
    { encoding: 'utf8' },
  );
  return r.status === 0;
}

/** dist/runts as the user can run it: the package's at `pkgRoot` (this clone), or a copy in `dir`. */
export function runtsFor(user: TestUser, dir: string, pkgRoot = ROOT_DIR): string {
  const own = path.join(pkgRoot, 'dist', 'runts');
  if (
    reachableBy(user, own) &&
    reachableBy(user, path.join(pkgRoot, 'node_modules', 'ffi-rs', 'package.json'))
  )
    return own;
  const pkg = path.join(dir, 'runts-pkg');
  fs.mkdirSync(path.join(pkg, 'node_modules'), { recursive: true });
  fs.cpSync(path.join(pkgRoot, 'dist'), path.join(pkg, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(pkgRoot, 'package.json'), path.join(pkg, 'package.json'));
  for (const m of ['ffi-rs', '@yuuang']) {
    const from = path.join(pkgRoot, 'node_modules', m);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(pkg, 'node_modules', m), { recursive: true });
  }
  spawnSync('chmod', ['-R', 'a+rX', pkg]);
  return path.join(pkg, 'dist', 'runts');
}

/**
 * Run `argv` as `user` (no supplementary groups) with exactly `env`. Output
 * goes through files: a created container's init keeps the stdio it was
 * given until start, which a pipe would wait for.
 */
export function runAs(
  user: TestUser,
  argv: string[],
  env: Record<string, string>,
  opts: { cwd?: string; timeout?: number } = {},
): AsUserResult {
  const envArgs = Object.entries({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env }).map(
    ([k, v]) => `${k}=${v}`,
  );
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-test-out-'));
  const [out, err] = [path.join(outDir, 'out'), path.join(outDir, 'err')];
  const fds = [fs.openSync(out, 'w'), fs.openSync(err, 'w')];
  try {
    const r = spawnSync(
      'setpriv',
      [
        '--reuid',
        String(user.uid),
        '--regid',
        String(user.gid),
        '--clear-groups',
        'env',
        '-i',
        ...envArgs,
        ...argv,
      ],
      { timeout: opts.timeout ?? 30_000, cwd: opts.cwd, stdio: ['ignore', fds[0], fds[1]] },
    );
    return { status: r.status, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(err, 'utf8') };
  } finally {
    for (const fd of fds) fs.closeSync(fd);
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}
