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
import { containerSuite, runcReference, runts, RUNC, RUNTS } from '../helpers.js';
import { checkCapabilities } from '../../src/process/capabilities.js';

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const suite = containerSuite(after, { defaults: (c) => (c.root.readonly = false) });
const { base, root } = suite;
const { haveRunc, runcRoot } = runcReference(after, base);

let n = 0;
const bundle = (script: string, patch?: (c: Config, dir: string) => void) => suite.bundle(script, patch);

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `run` the bundle with runts (and with runc when `withRunc` and it is installed); runc's result or undefined. */
function runBoth(dir: string, withRunc = true): { ours: Result; runc?: Result | undefined } {
  const id = `p${++n}`;
  const ours = runts(['--root', root, 'run', '--bundle', dir, id]);
  let theirs: Result | undefined;
  if (withRunc && haveRunc) {
    const r = spawnSync(RUNC, ['--root', runcRoot, 'run', '--bundle', dir, `runc-${id}`], {
      encoding: 'utf8',
      timeout: 30_000,
    });
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
    const r = spawnSync(bin, ['--root', stateRoot, ...extra, 'create', '--bundle', dir, id], {
      stdio: ['ignore', fds[0], fds[1]],
      timeout: 30_000,
    });
    return {
      id,
      status: r.status,
      stdout: fs.readFileSync(out, 'utf8'),
      stderr: fs.readFileSync(`${out}.err`, 'utf8'),
    };
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
  test("the exec'ed process gets the container's oomScoreAdj, not process.json's (as runc 1.1)", (t) => {
    const dir = bundle('sleep 60', (c) => (c.process.oomScoreAdj = 300));
    const procFile = path.join(dir, 'proc.json');
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(
      procFile,
      JSON.stringify({ ...cfg.process, args: ['cat', '/proc/self/oom_score_adj'], oomScoreAdj: 500 }),
    );
    const tools: Array<[string, string]> = [[RUNTS, root]];
    if (haveRunc) tools.push([RUNC, runcRoot]);
    for (const [bin, stateRoot] of tools) {
      const c = create(dir, [], bin, stateRoot);
      t.after(() => spawnSync(bin, ['--root', stateRoot, 'delete', '--force', c.id]));
      assert.equal(c.status, 0, c.stderr);
      assert.equal(spawnSync(bin, ['--root', stateRoot, 'start', c.id]).status, 0);
      const plain = spawnSync(bin, ['--root', stateRoot, 'exec', c.id, 'cat', '/proc/self/oom_score_adj'], {
        encoding: 'utf8',
      });
      assert.equal(plain.stdout, '300\n', `${bin}: ${plain.stderr}`);
      const withFile = spawnSync(bin, ['--root', stateRoot, 'exec', '--process', procFile, c.id], {
        encoding: 'utf8',
      });
      assert.equal(withFile.stdout, '300\n', `${bin}: ${withFile.stderr}`);
    }
  });
});

const CAP_SYS_RESOURCE = 24;
const lacksSysResource =
  (BigInt('0x' + /^CapBnd:\s+(\w+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]!) &
    (1n << BigInt(CAP_SYS_RESOURCE))) ===
  0n;

describe('capabilities', () => {
  const capLines = (out: string) =>
    out
      .split('\n')
      .filter((l) => l.startsWith('Cap'))
      .join('\n');

  test("unknown names are ignored with runc's warning (log file, json, stderr); the known ones are granted", () => {
    const dir = bundle('grep ^Cap /proc/self/status', (c) => {
      for (const set of ['bounding', 'effective', 'permitted'])
        c.process.capabilities[set].push('CAP_FUTURE', 'CAP_ZZZ');
      c.process.capabilities.ambient = ['CAP_FUTURE'];
    });
    const msg = 'ignoring unknown or unavailable capabilities: [CAP_FUTURE CAP_ZZZ]';
    const log = path.join(base, `caps-${++n}.log`);
    const ours = runts([
      '--root',
      root,
      '--log',
      log,
      '--log-format',
      'json',
      'run',
      '--bundle',
      dir,
      `caps${n}`,
    ]);
    assert.equal(ours.status, 0, ours.stderr);
    const entries = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      entries.map((e) => [e.level, e.msg]),
      [['warning', msg]],
    );
    const plain = runts(['--root', root, 'run', '--bundle', dir, `caps${++n}`]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(plain.stderr, `runts: warning: ${msg}\n`);
    assert.equal(capLines(plain.stdout), capLines(ours.stdout));
    assert.match(ours.stdout, /^CapEff:\s+0*20000420$/m); // the spec's three: AUDIT_WRITE, KILL, NET_BIND_SERVICE
    if (haveRunc) {
      const rlog = path.join(base, `runc-caps-${n}.log`);
      const r = spawnSync(
        RUNC,
        ['--root', runcRoot, '--log', rlog, '--log-format', 'json', 'run', '--bundle', dir, `runc-caps${n}`],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.equal(capLines(r.stdout), capLines(ours.stdout));
      const theirs = fs
        .readFileSync(rlog, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        theirs.map((e) => [e.level, e.msg]),
        [['warning', msg]],
      );
    }
  });

  test('checkCapabilities: one warning for every unknown name, sorted; only granted sets are checked against the bounding set', () => {
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    const own = () => [0, 5]; // CAP_CHOWN, CAP_KILL
    checkCapabilities(
      {
        bounding: ['CAP_ZZ', 'CAP_SYS_ADMIN'],
        ambient: ['CAP_AA', 'CAP_ZZ'],
        effective: ['CAP_KILL'],
        permitted: ['CAP_CHOWN', 'CAP_KILL'],
      },
      warn,
      own,
    );
    assert.deepEqual(warnings, ['ignoring unknown or unavailable capabilities: [CAP_AA CAP_ZZ]']);
    assert.throws(
      () =>
        checkCapabilities(
          {
            effective: ['CAP_NET_ADMIN'],
            permitted: ['CAP_NET_ADMIN'],
            inheritable: ['CAP_SYS_TIME', 'CAP_KILL'],
          },
          warn,
          own,
        ),
      {
        message:
          "unable to apply caps: operation not permitted: not in runts' own capability bounding set: CAP_NET_ADMIN (effective, permitted), CAP_SYS_TIME (inheritable)",
      },
    );
  });

  test('a name that is not a string is still an error', () => {
    const r = runts([
      '--root',
      root,
      'run',
      '--bundle',
      bundle('true', (c) => c.process.capabilities.bounding.push(7)),
      `caps${++n}`,
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /process\.capabilities\.bounding\[\d+\]: must be a string/);
  });

  test('exec: unknown --cap names are ignored with the warning', (t) => {
    const dir = bundle('sleep 60');
    const c = create(dir);
    t.after(() => runts(['--root', root, 'delete', '--force', c.id]));
    assert.equal(c.status, 0, c.stderr);
    assert.equal(runts(['--root', root, 'start', c.id]).status, 0);
    const r = runts(['--root', root, 'exec', '--cap', 'CAP_FUTURE', c.id, 'true']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, 'runts: warning: ignoring unknown or unavailable capabilities: [CAP_FUTURE]\n');
  });

  test(
    "a capability outside runts' own bounding set fails create, naming it (runc fails too); exec --cap as well",
    { skip: !lacksSysResource && 'root here has CAP_SYS_RESOURCE' },
    (t) => {
      const dir = bundle('true', (c) => {
        for (const set of ['bounding', 'effective', 'permitted'])
          c.process.capabilities[set].push('CAP_SYS_RESOURCE');
      });
      const c = create(dir);
      assert.equal(c.status, 1);
      assert.equal(
        c.stderr,
        "runts: unable to apply caps: operation not permitted: not in runts' own capability bounding set: CAP_SYS_RESOURCE (effective, permitted)\n",
      );
      assert.deepEqual(fs.existsSync(root) ? fs.readdirSync(root) : [], []);
      if (haveRunc) {
        const r = create(dir, [], RUNC, runcRoot);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /unable to apply caps: operation not permitted/);
      }
      // Only in the bounding set: dropped from nothing, fine for runc and runts alike.
      const bnd = runts([
        '--root',
        root,
        'run',
        '--bundle',
        bundle('true', (c) => c.process.capabilities.bounding.push('CAP_SYS_RESOURCE')),
        `caps${++n}`,
      ]);
      assert.equal(bnd.status, 0, bnd.stderr);

      const e = create(bundle('sleep 60'));
      t.after(() => runts(['--root', root, 'delete', '--force', e.id]));
      assert.equal(runts(['--root', root, 'start', e.id]).status, 0);
      const x = runts(['--root', root, 'exec', '--cap', 'CAP_SYS_RESOURCE', e.id, 'true']);
      assert.equal(x.status, 255);
      assert.match(
        x.stderr,
        /^runts: exec failed: unable to apply caps: .*CAP_SYS_RESOURCE \(effective, permitted\)\n$/,
      );
    },
  );
});

describe('process.cwd', () => {
  test('a missing cwd is made inside the rootfs (root-owned 0755) before the root goes read-only, as runc', () => {
    const dir = bundle(
      'pwd; ls -ldn /a /a/b /a/b/c | while read m l u g rest; do echo "$m $u $g"; done; id',
      (c) => {
        c.process.cwd = '/a/b/c';
        c.root.readonly = true;
        c.process.user = { uid: 1000, gid: 1000 };
      },
    );
    const { ours } = runBoth(dir, false);
    assert.equal(ours.status, 0, ours.stderr);
    const want = '/a/b/c\n' + 'drwxr-xr-x 0 0\n'.repeat(3) + 'uid=1000 gid=1000\n';
    assert.equal(ours.stdout, want);
    const st = fs.statSync(path.join(dir, 'rootfs/a/b/c'));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 0, 0o755]);
    if (haveRunc) {
      fs.rmSync(path.join(dir, 'rootfs/a'), { recursive: true });
      const { runc } = runBoth(dir);
      assert.equal(runc!.stdout, want, runc!.stderr);
    }
  });

  test("a cwd naming a file fails create with runc's one-line reason, leaving nothing", () => {
    for (const cwd of ['/etc/passwd', '/etc/passwd/sub']) {
      const dir = bundle('pwd', (c) => (c.process.cwd = cwd));
      const r = create(dir);
      assert.equal(r.status, 1);
      assert.equal(r.stderr, 'runts: mkdir /etc/passwd: not a directory\n');
      assert.deepEqual(fs.existsSync(root) ? fs.readdirSync(root) : [], []);
      if (haveRunc) {
        const theirs = create(dir, [], RUNC, runcRoot);
        assert.equal(theirs.status, 1);
        assert.match(theirs.stderr, /error during container init: mkdir \/etc\/passwd: not a directory/);
      }
    }
  });

  test('a cwd only root can reach: the process (uid 1000) still starts in it, for run and exec --user (as runc)', (t) => {
    const dir = bundle('pwd; ls 2>&1; echo "rc=$?"', (c, d) => {
      c.process.cwd = '/secret';
      c.process.user = { uid: 1000, gid: 1000 };
      fs.mkdirSync(path.join(d, 'rootfs/secret'), { mode: 0o700 });
    });
    const { ours, runc } = runBoth(dir);
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(ours.stdout, '/secret\nls: .: Permission denied\nrc=1\n');
    if (runc) assert.equal(ours.stdout, runc.stdout);

    const c = create(
      bundle('sleep 60', (_cfg, d) => fs.mkdirSync(path.join(d, 'rootfs/secret'), { mode: 0o700 })),
    );
    t.after(() => runts(['--root', root, 'delete', '--force', c.id]));
    assert.equal(c.status, 0, c.stderr);
    assert.equal(runts(['--root', root, 'start', c.id]).status, 0);
    const x = runts(['--root', root, 'exec', '--user', '1000:1000', '--cwd', '/secret', c.id, 'pwd']);
    assert.equal(x.status, 0, x.stderr);
    assert.equal(x.stdout, '/secret\n');
    const bad = runts(['--root', root, 'exec', '--user', '1000:1000', '--cwd', '/nope', c.id, 'pwd']);
    assert.equal(bad.status, 255);
    assert.equal(
      bad.stderr,
      'runts: exec failed: unable to start container process: chdir to cwd ("/nope") set in config.json failed: no such file or directory\n',
    );
  });
});

describe('mount destinations', () => {
  test('a dangling symlink is resolved inside the rootfs and its target made there, never on the host (as runc)', () => {
    const src = path.join(base, 'bind-src');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'file'), 'hi\n');
    // Targets that would land in the test's own directory on the host if followed there.
    const hostRel = path.join(base, 'host-rel');
    const hostAbs = path.join(base, 'host-abs');
    const links: Record<string, string> = {
      '/etc/x': '../foo/bar/not/here', // directory, relative
      '/etc/y': '/abs/not/here', // directory, absolute
      '/etc/z': '../zz/dir/file', // file, relative
      '/etc/w': '/ww/file', // file, absolute
      '/etc/e1': `../../../../../../../..${hostRel}/file`, // climbs above the root
      '/etc/e2': `${hostAbs}/dir`,
    };
    const made = [
      'foo/bar/not/here',
      'abs/not/here',
      'zz/dir/file',
      'ww/file',
      `${hostRel.slice(1)}/file`,
      `${hostAbs.slice(1)}/dir`,
    ];
    const dir = bundle(
      'cat /etc/z /etc/w /etc/e1; ls /etc/e2 /etc/y; grep -c "^tmpfs /foo/bar/not/here " /proc/mounts',
      (c, d) => {
        for (const [at, target] of Object.entries(links)) fs.symlinkSync(target, path.join(d, 'rootfs', at));
        c.mounts.push(
          { destination: '/etc/x', type: 'tmpfs', source: 'tmpfs' },
          { destination: '/etc/y', type: 'bind', source: src, options: ['rbind'] },
          { destination: '/etc/z', type: 'bind', source: path.join(src, 'file'), options: ['bind'] },
          { destination: '/etc/w', type: 'bind', source: path.join(src, 'file'), options: ['bind'] },
          { destination: '/etc/e1', type: 'bind', source: path.join(src, 'file'), options: ['bind'] },
          { destination: '/etc/e2', type: 'bind', source: src, options: ['bind'] },
        );
      },
    );
    const rootfs = path.join(dir, 'rootfs');
    const want = 'hi\nhi\nhi\n/etc/e2:\nfile\n\n/etc/y:\nfile\n1\n';
    const tools: Array<'ours' | 'runc'> = haveRunc ? ['ours', 'runc'] : ['ours'];
    for (const which of tools) {
      for (const m of made)
        fs.rmSync(path.join(rootfs, m.split('/')[0] ?? assert.fail(m)), { recursive: true, force: true });
      const r = which === 'ours' ? runBoth(dir, false).ours : runBoth(dir).runc!;
      assert.equal(r.status, 0, `${which}: ${r.stderr}`);
      assert.equal(r.stdout, want, which);
      for (const m of made)
        assert.ok(fs.existsSync(path.join(rootfs, m)), `${which}: ${m} made inside the rootfs`);
      assert.ok(!fs.existsSync(hostRel) && !fs.existsSync(hostAbs), `${which}: nothing made on the host`);
      for (const at of Object.keys(links))
        assert.ok(fs.lstatSync(path.join(rootfs, at)).isSymbolicLink(), `${which}: ${at} still a symlink`);
    }
  });
});

describe('bind sources', () => {
  test("with a user namespace, sources only the host's root can reach still mount (0700 and 000 parents, a file, a symlink), as runc", () => {
    const hidden = path.join(base, 'root-only');
    const none = path.join(base, 'no-access');
    fs.mkdirSync(path.join(hidden, 'data'), { recursive: true });
    fs.mkdirSync(path.join(none, 'data'), { recursive: true });
    fs.writeFileSync(path.join(hidden, 'data/f'), 'in-0700\n');
    fs.writeFileSync(path.join(none, 'data/f'), 'in-000\n');
    fs.writeFileSync(path.join(hidden, 'one-file'), 'a-file\n');
    fs.symlinkSync(path.join(hidden, 'data'), path.join(base, 'link-to-hidden'));
    fs.chmodSync(hidden, 0o700);
    fs.chmodSync(none, 0o000);
    const dir = bundle('cat /m1/f /m2/f /m3/f /m4; id -u', (c, d) => {
      // Mount points made here: the rootfs is host root's, the container's root cannot add to it.
      for (const m of ['m1', 'm2', 'm3']) fs.mkdirSync(path.join(d, 'rootfs', m));
      fs.writeFileSync(path.join(d, 'rootfs/m4'), '');
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.mounts.push(
        { destination: '/m1', type: 'bind', source: path.join(hidden, 'data'), options: ['rbind'] },
        { destination: '/m2', type: 'bind', source: path.join(none, 'data'), options: ['bind', 'ro'] },
        { destination: '/m3', type: 'bind', source: path.join(base, 'link-to-hidden'), options: ['rbind'] },
        { destination: '/m4', type: 'bind', source: path.join(hidden, 'one-file'), options: ['bind'] },
      );
    });
    const { ours, runc } = runBoth(dir);
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(ours.stdout, 'in-0700\nin-000\nin-0700\na-file\n0\n');
    if (runc) assert.equal(runc.stdout, ours.stdout, runc.stderr);
    // The container's root is host uid 100000: it really cannot reach them itself.
    const probe = spawnSync(
      'setpriv',
      ['--reuid', '100000', '--regid', '100000', '--clear-groups', 'cat', path.join(hidden, 'data/f')],
      { encoding: 'utf8' },
    );
    assert.notEqual(probe.status, 0);
  });
  test("a read-only host mount under a root-only directory stays locked read-only in the container (opened in the init's namespace, not cloned on the host)", (t) => {
    const hidden = path.join(base, 'root-only-ro');
    const mnt = path.join(hidden, 'ro');
    fs.mkdirSync(mnt, { recursive: true });
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', mnt]).status, 0);
    t.after(() => spawnSync('umount', [mnt]));
    fs.chmodSync(hidden, 0o700);
    const dir = bundle(
      'mount -o remount,bind,rw /data 2>/dev/null && echo REMOUNTED || echo REFUSED; touch /data/x 2>/dev/null && echo WROTE || echo READ-ONLY',
      (c, d) => {
        fs.mkdirSync(path.join(d, 'rootfs/data'));
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        for (const k of ['bounding', 'effective', 'permitted'])
          c.process.capabilities[k].push('CAP_SYS_ADMIN');
        c.mounts.push({ destination: '/data', type: 'bind', source: mnt, options: ['bind'] });
      },
    );
    const { ours, runc } = runBoth(dir);
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(ours.stdout, 'REFUSED\nREAD-ONLY\n');
    if (runc) assert.equal(runc.stdout, ours.stdout, runc.stderr);
  });
});
