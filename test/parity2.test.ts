/**
 * runc parity on real containers (issues 13, 20, 21): what runc 1.1.5 does
 * for the same bundle, checked from inside the container, and compared with
 * Debian's runc where that is cheap (skipped when runc is not installed).
 *
 * Run as root after `npm run build`.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { containerSuite, runts, RUNTS } from './helpers.js';

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const suite = containerSuite(after, { defaults: (c) => (c.root.readonly = false) });
const { base, root } = suite;
const RUNC = '/usr/sbin/runc';
const haveRunc = fs.existsSync(RUNC);
const runcRoot = path.join(base, 'runc-state');
after(() => {
  if (!haveRunc || !fs.existsSync(runcRoot)) return;
  for (const id of fs.readdirSync(runcRoot)) spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', id]);
});

let n = 0;
const bundle = (script: string, patch?: (c: Config, dir: string) => void) => suite.bundle(script, patch);

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `run` the bundle with runts (and with runc when `withRunc` and it is installed); runc's result or undefined. */
function runBoth(dir: string, withRunc = true): { ours: Result; runc?: Result } {
  const id = `p${++n}`;
  const ours = runts(['--root', root, 'run', '--bundle', dir, id]);
  let theirs: Result | undefined;
  if (withRunc && haveRunc) {
    const r = spawnSync(RUNC, ['--root', runcRoot, 'run', '--bundle', dir, `runc-${id}`], { encoding: 'utf8', timeout: 30_000 });
    theirs = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  return { ours, runc: theirs };
}

/** `create` with files for stdio (the init keeps what it gets); the container is deleted after. */
function create(dir: string, extra: string[] = [], bin = RUNTS, stateRoot = root): Result & { id: string } {
  const id = `c${++n}`;
  const out = path.join(base, `create-out-${n}`);
  const fds = [fs.openSync(out, 'w'), fs.openSync(`${out}.err`, 'w')];
  try {
    const r = spawnSync(bin, ['--root', stateRoot, ...extra, 'create', '--bundle', dir, id], { stdio: ['ignore', fds[0], fds[1]], timeout: 30_000 });
    return { id, status: r.status, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(`${out}.err`, 'utf8') };
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
}

describe('network', () => {
  test('a new network namespace has lo up: 127.0.0.1 reachable inside (as runc)', () => {
    const script = [
      'ip link show lo | head -1',
      '(echo hello-lo | nc -l -p 4242 127.0.0.1 >/dev/null) & sleep 0.3',
      'nc 127.0.0.1 4242 </dev/null; echo "nc=$?"',
    ].join('; ');
    const { ours, runc } = runBoth(bundle(script));
    assert.equal(ours.status, 0, ours.stderr);
    assert.match(ours.stdout, /<LOOPBACK,UP,LOWER_UP>/);
    assert.match(ours.stdout, /hello-lo\nnc=0/);
    if (runc) assert.equal(ours.stdout, runc.stdout);
  });
});

describe('exec', () => {
  test('the exec\'ed process gets the container\'s oomScoreAdj, not process.json\'s (as runc 1.1)', (t) => {
    const dir = bundle('sleep 60', (c) => (c.process.oomScoreAdj = 300));
    const procFile = path.join(dir, 'proc.json');
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(procFile, JSON.stringify({ ...cfg.process, args: ['cat', '/proc/self/oom_score_adj'], oomScoreAdj: 500 }));
    const tools: Array<[string, string]> = [[RUNTS, root]];
    if (haveRunc) tools.push([RUNC, runcRoot]);
    for (const [bin, stateRoot] of tools) {
      const c = create(dir, [], bin, stateRoot);
      t.after(() => spawnSync(bin, ['--root', stateRoot, 'delete', '--force', c.id]));
      assert.equal(c.status, 0, c.stderr);
      assert.equal(spawnSync(bin, ['--root', stateRoot, 'start', c.id]).status, 0);
      const plain = spawnSync(bin, ['--root', stateRoot, 'exec', c.id, 'cat', '/proc/self/oom_score_adj'], { encoding: 'utf8' });
      assert.equal(plain.stdout, '300\n', `${bin}: ${plain.stderr}`);
      const withFile = spawnSync(bin, ['--root', stateRoot, 'exec', '--process', procFile, c.id], { encoding: 'utf8' });
      assert.equal(withFile.stdout, '300\n', `${bin}: ${withFile.stderr}`);
    }
  });
});
