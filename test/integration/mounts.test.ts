/**
 * Rootfs, mounts and devices on real containers: every mount option and
 * propagation mode checked in the container's /proc/self/mountinfo,
 * idmapped mounts, devices, masked and read-only paths, sysctl, and
 * hostile images whose symlinks point at the host (host marker files must
 * stay untouched). Runs as root; each container has its own --root and is
 * removed, and every host mount a test makes is unmounted.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { containerSuite, hostMountsUnder, runts, RUNTS } from '../helpers.js';
import { makeBundle } from '../rootfs.js';

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Host mounts made by the tests (unmounted, deepest first, before the temp dir goes). */
const hostMounts: string[] = [];

const { base, root, bundle } = containerSuite(after, {
  cleanup: () => {
    for (const m of hostMounts.reverse()) spawnSync('umount', ['-l', m]);
  },
});
const RUNC = '/usr/sbin/runc';
const haveRunc = fs.existsSync(RUNC);
let n = 0;

function run(dir: string, extra: string[] = []) {
  return runts(['--root', root, 'run', ...extra, '--bundle', dir, `c${++n}`]);
}

function runRunc(dir: string) {
  return spawnSync(RUNC, ['--root', path.join(base, 'runc-root'), 'run', '--bundle', dir, `runc${++n}`], {
    encoding: 'utf8',
    timeout: 30_000,
  });
}

function userns(c: Config): void {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
}

/** Run a host command that must succeed. */
function sh(cmd: string): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
  return r.stdout;
}

interface MountInfo {
  mountPoint: string;
  root: string;
  opts: Set<string>;
  optional: string[];
  fstype: string;
  superOpts: Set<string>;
  line: string;
}

function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (f.length < 10 || sep < 0) continue;
    const field = (i: number): string => f[i] ?? assert.fail(`short mountinfo line: ${line}`);
    out.push({
      mountPoint: field(4),
      root: field(3),
      opts: new Set(field(5).split(',')),
      optional: f.slice(6, sep),
      fstype: field(sep + 1),
      superOpts: new Set(field(sep + 3).split(',')),
      line,
    });
  }
  return out;
}

/** The visible (last) mount at `mp`. */
function at(mounts: MountInfo[], mp: string): MountInfo {
  const m = mounts.filter((x) => x.mountPoint === mp).pop();
  assert.ok(m, `no mount at ${mp} in:\n${mounts.map((x) => x.line).join('\n')}`);
  return m;
}

const hasShared = (m: MountInfo) => m.optional.some((o) => o.startsWith('shared:'));
const hasMaster = (m: MountInfo) => m.optional.some((o) => o.startsWith('master:'));

/** A host directory bind-mounted on itself and made shared (unmounted when the suite ends). */
function sharedHostDir(name: string): string {
  const dir = path.join(base, name);
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'file'), 'shared\n');
  sh(`mount --bind ${dir} ${dir} && mount --make-shared ${dir}`);
  hostMounts.push(dir);
  sh(`mount -t tmpfs -o size=1m tmpfs ${dir}/sub && mount --make-shared ${dir}/sub`);
  hostMounts.push(`${dir}/sub`);
  return dir;
}

describe('mount options', () => {
  // One container with a mount per option: a tmpfs for the options a new
  // filesystem takes, a bind of a host directory for the bind ones, an
  // rbind of a host tree with a submount for the recursive (r*) ones.
  const tmpfsCases: Record<string, { options: string[]; check: (m: MountInfo) => void }> = {
    // A tmpfs is made read-only per mount once the mount points in it are made (as runc: the superblock stays rw).
    ro: { options: ['ro'], check: (m) => assert.ok(m.opts.has('ro')) },
    rw: { options: ['ro', 'rw'], check: (m) => assert.ok(m.opts.has('rw')) },
    nosuid: { options: ['nosuid'], check: (m) => assert.ok(m.opts.has('nosuid')) },
    suid: { options: ['nosuid', 'suid'], check: (m) => assert.ok(!m.opts.has('nosuid')) },
    nodev: { options: ['nodev'], check: (m) => assert.ok(m.opts.has('nodev')) },
    dev: { options: ['nodev', 'dev'], check: (m) => assert.ok(!m.opts.has('nodev')) },
    noexec: { options: ['noexec'], check: (m) => assert.ok(m.opts.has('noexec')) },
    exec: { options: ['noexec', 'exec'], check: (m) => assert.ok(!m.opts.has('noexec')) },
    relatime: { options: ['relatime'], check: (m) => assert.ok(m.opts.has('relatime')) },
    // mount(2): relatime unless noatime or strictatime, whatever norelatime says (as runc).
    norelatime: { options: ['norelatime'], check: (m) => assert.ok(m.opts.has('relatime')) },
    strictatime: {
      options: ['strictatime'],
      check: (m) => assert.ok(!m.opts.has('relatime') && !m.opts.has('noatime')),
    },
    nostrictatime: {
      options: ['strictatime', 'nostrictatime'],
      check: (m) => assert.ok(m.opts.has('relatime')),
    },
    noatime: { options: ['noatime'], check: (m) => assert.ok(m.opts.has('noatime')) },
    atime: {
      options: ['noatime', 'atime'],
      check: (m) => assert.ok(!m.opts.has('noatime') && m.opts.has('relatime')),
    },
    nodiratime: { options: ['nodiratime'], check: (m) => assert.ok(m.opts.has('nodiratime')) },
    diratime: { options: ['nodiratime', 'diratime'], check: (m) => assert.ok(!m.opts.has('nodiratime')) },
    nosymfollow: { options: ['nosymfollow'], check: (m) => assert.ok(m.opts.has('nosymfollow')) },
    symfollow: { options: ['nosymfollow', 'symfollow'], check: (m) => assert.ok(!m.opts.has('nosymfollow')) },
    sync: { options: ['sync'], check: (m) => assert.ok(m.superOpts.has('sync')) },
    async: { options: ['sync', 'async'], check: (m) => assert.ok(!m.superOpts.has('sync')) },
    dirsync: { options: ['dirsync'], check: (m) => assert.ok(m.superOpts.has('dirsync')) },
    mand: { options: ['mand'], check: (m) => assert.ok(m.superOpts.has('mand')) },
    nomand: { options: ['mand', 'nomand'], check: (m) => assert.ok(!m.superOpts.has('mand')) },
    lazytime: { options: ['lazytime'], check: (m) => assert.ok(m.superOpts.has('lazytime')) },
    nolazytime: {
      options: ['lazytime', 'nolazytime'],
      check: (m) => assert.ok(!m.superOpts.has('lazytime')),
    },
    silent: { options: ['silent'], check: (m) => assert.equal(m.fstype, 'tmpfs') },
    loud: { options: ['silent', 'loud'], check: (m) => assert.equal(m.fstype, 'tmpfs') },
    iversion: { options: ['iversion'], check: (m) => assert.equal(m.fstype, 'tmpfs') },
    noiversion: { options: ['iversion', 'noiversion'], check: (m) => assert.equal(m.fstype, 'tmpfs') },
    defaults: { options: ['defaults'], check: (m) => assert.ok(m.opts.has('rw') && m.opts.has('relatime')) },
    data: {
      options: ['size=1m', 'mode=1770', 'uid=1000', 'gid=1001', 'nr_inodes=100'],
      check: (m) => {
        for (const o of ['size=1024k', 'mode=1770', 'uid=1000', 'gid=1001', 'nr_inodes=100'])
          assert.ok(m.superOpts.has(o), o);
      },
    },
  };
  const bindCases: Record<
    string,
    { options: string[]; check: (m: MountInfo, all: MountInfo[], dest: string) => void }
  > = {
    bind: {
      options: ['bind'],
      check: (_m, all, d) => assert.equal(all.filter((x) => x.mountPoint.startsWith(d + '/')).length, 0),
    },
    rbind: { options: ['rbind'], check: (_m, all, d) => assert.equal(at(all, `${d}/sub`).fstype, 'tmpfs') },
    'bind,ro': { options: ['bind', 'ro'], check: (m) => assert.ok(m.opts.has('ro')) },
    'bind,nosuid,nodev,noexec': {
      options: ['bind', 'nosuid', 'nodev', 'noexec'],
      check: (m) => assert.ok(m.opts.has('nosuid') && m.opts.has('nodev') && m.opts.has('noexec')),
    },
    'bind,noatime': { options: ['bind', 'noatime'], check: (m) => assert.ok(m.opts.has('noatime')) },
    'bind,nosymfollow': {
      options: ['bind', 'nosymfollow'],
      check: (m) => assert.ok(m.opts.has('nosymfollow')),
    },
    // The source is ro and nosuid; flags named replace them all (mount --bind -o, as runc).
    'bind,nodev from ro': {
      options: ['bind', 'nodev'],
      check: (m) => assert.deepEqual([...m.opts].sort(), ['nodev', 'relatime', 'rw']),
    },
    'bind,remount,nodev from ro': {
      options: ['bind', 'remount', 'nodev'],
      check: (m) => assert.ok(m.opts.has('nodev') && m.opts.has('ro') && m.opts.has('nosuid')),
    },
    'bind (no flags) keeps the source flags': {
      options: ['bind'],
      check: (m) => assert.ok(m.opts.has('ro') && m.opts.has('nosuid')),
    },
  };
  const recursiveCases: Record<
    string,
    { options: string[]; check: (top: MountInfo, sub: MountInfo) => void }
  > = {
    rro: { options: ['rbind', 'rro'], check: (t, s) => assert.ok(t.opts.has('ro') && s.opts.has('ro')) },
    rrw: {
      options: ['rbind', 'rro', 'rrw'],
      check: (t, s) => assert.ok(t.opts.has('rw') && s.opts.has('rw')),
    },
    rnosuid: {
      options: ['rbind', 'rnosuid'],
      check: (t, s) => assert.ok(t.opts.has('nosuid') && s.opts.has('nosuid')),
    },
    rsuid: {
      options: ['rbind', 'rnosuid', 'rsuid'],
      check: (t, s) => assert.ok(!t.opts.has('nosuid') && !s.opts.has('nosuid')),
    },
    rnodev: {
      options: ['rbind', 'rnodev'],
      check: (t, s) => assert.ok(t.opts.has('nodev') && s.opts.has('nodev')),
    },
    rdev: {
      options: ['rbind', 'rnodev', 'rdev'],
      check: (t, s) => assert.ok(!t.opts.has('nodev') && !s.opts.has('nodev')),
    },
    rnoexec: {
      options: ['rbind', 'rnoexec'],
      check: (t, s) => assert.ok(t.opts.has('noexec') && s.opts.has('noexec')),
    },
    rexec: {
      options: ['rbind', 'rnoexec', 'rexec'],
      check: (t, s) => assert.ok(!t.opts.has('noexec') && !s.opts.has('noexec')),
    },
    rnoatime: {
      options: ['rbind', 'rnoatime'],
      check: (t, s) => assert.ok(t.opts.has('noatime') && s.opts.has('noatime')),
    },
    ratime: {
      options: ['rbind', 'rnoatime', 'ratime'],
      check: (t, s) => assert.ok(t.opts.has('relatime') && s.opts.has('relatime')),
    },
    rstrictatime: {
      options: ['rbind', 'rstrictatime'],
      check: (t, s) =>
        assert.ok(!t.opts.has('relatime') && !s.opts.has('relatime') && !s.opts.has('noatime')),
    },
    rnostrictatime: {
      options: ['rbind', 'rstrictatime', 'rnostrictatime'],
      check: (t, s) => assert.ok(t.opts.has('relatime') && s.opts.has('relatime')),
    },
    rrelatime: {
      options: ['rbind', 'rnoatime', 'rrelatime'],
      check: (t, s) => assert.ok(t.opts.has('relatime') && s.opts.has('relatime')),
    },
    rnorelatime: {
      options: ['rbind', 'rnorelatime'],
      check: (t, s) => assert.ok(t.opts.has('relatime') && s.opts.has('relatime')),
    },
    rnodiratime: {
      options: ['rbind', 'rnodiratime'],
      check: (t, s) => assert.ok(t.opts.has('nodiratime') && s.opts.has('nodiratime')),
    },
    rdiratime: {
      options: ['rbind', 'rnodiratime', 'rdiratime'],
      check: (t, s) => assert.ok(!t.opts.has('nodiratime') && !s.opts.has('nodiratime')),
    },
    rnosymfollow: {
      options: ['rbind', 'rnosymfollow'],
      check: (t, s) => assert.ok(t.opts.has('nosymfollow') && s.opts.has('nosymfollow')),
    },
    rsymfollow: {
      options: ['rbind', 'rnosymfollow', 'rsymfollow'],
      check: (t, s) => assert.ok(!t.opts.has('nosymfollow') && !s.opts.has('nosymfollow')),
    },
  };
  const slug = (s: string) => s.replace(/[^a-z0-9]+/gi, '_');

  let mounts: MountInfo[] = [];
  let dir = '';
  let srcTree = '';
  test('a container with a mount per option starts', () => {
    // Bind sources: a host tree with a tmpfs submount, and a ro,nosuid one.
    srcTree = path.join(base, 'opt-src');
    fs.mkdirSync(path.join(srcTree, 'sub'), { recursive: true });
    sh(`mount -t tmpfs -o size=1m tmpfs ${srcTree}/sub`);
    hostMounts.push(`${srcTree}/sub`);
    const roSrc = path.join(base, 'opt-ro-src');
    fs.mkdirSync(roSrc, { recursive: true });
    sh(`mount -t tmpfs -o size=1m,ro,nosuid tmpfs ${roSrc}`);
    hostMounts.push(roSrc);
    dir = bundle('cat /proc/self/mountinfo', (c) => {
      for (const [name, k] of Object.entries(tmpfsCases))
        c.mounts.push({ destination: `/t/${name}`, type: 'tmpfs', source: 'tmpfs', options: k.options });
      for (const [name, k] of Object.entries(bindCases)) {
        const source = name.includes('from ro') || name.includes('keeps') ? roSrc : srcTree;
        c.mounts.push({ destination: `/b/${slug(name)}`, type: 'bind', source, options: k.options });
      }
      for (const [name, k] of Object.entries(recursiveCases))
        c.mounts.push({ destination: `/r/${name}`, type: 'bind', source: srcTree, options: k.options });
    });
    const r = run(dir);
    assert.equal(r.status, 0, r.stderr);
    mounts = parseMountinfo(r.stdout);
  });
  for (const [name, k] of Object.entries(tmpfsCases)) {
    test(`tmpfs ${name}: ${k.options.join(',')}`, () => k.check(at(mounts, `/t/${name}`)));
  }
  for (const [name, k] of Object.entries(bindCases)) {
    test(`bind mount ${name}`, () => k.check(at(mounts, `/b/${slug(name)}`), mounts, `/b/${slug(name)}`));
  }
  for (const [name, k] of Object.entries(recursiveCases)) {
    test(`recursive ${name} (mount_setattr AT_RECURSIVE) covers the submount`, () =>
      k.check(at(mounts, `/r/${name}`), at(mounts, `/r/${name}/sub`)));
  }

  test(
    'the per-mount flags are the same as runc gives (options runc 1.1 knows)',
    { skip: !haveRunc && 'no runc' },
    () => {
      const rdir = bundle('cat /proc/self/mountinfo', (c) => {
        for (const [name, k] of Object.entries(tmpfsCases)) {
          if (!['iversion', 'noiversion', 'defaults'].includes(name))
            c.mounts.push({ destination: `/t/${name}`, type: 'tmpfs', source: 'tmpfs', options: k.options });
        }
      });
      const ours = run(rdir);
      const theirs = runRunc(rdir);
      assert.equal(ours.status, 0, ours.stderr);
      assert.equal(theirs.status, 0, theirs.stderr);
      const a = parseMountinfo(ours.stdout);
      const b = parseMountinfo(theirs.stdout);
      for (const name of Object.keys(tmpfsCases)) {
        // runc 1.1 passes "defaults" to the filesystem (tmpfs refuses it); runts takes it as no option.
        if (['iversion', 'noiversion', 'defaults'].includes(name)) continue;
        const x = at(a, `/t/${name}`);
        const y = at(b, `/t/${name}`);
        assert.deepEqual([...x.opts].sort(), [...y.opts].sort(), name);
        const noMode = (s: Set<string>) => [...s].filter((o) => !o.startsWith('mode=')).sort();
        assert.deepEqual(noMode(x.superOpts), noMode(y.superOpts), name);
      }
    },
  );

  test('nosymfollow: symlinks on the mount are not followed', () => {
    const r = run(
      bundle(
        'ln -s /etc/passwd /t/link && cat /t/link >/dev/null 2>&1 && echo FOLLOWED || echo REFUSED',
        (c) => c.mounts.push({ destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['nosymfollow'] }),
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'REFUSED');
  });

  test("a bind of a file creates a file target; a relative source is the bundle's", () => {
    const r = run(
      bundle('cat /etc/hostfile; test -f /etc/hostfile && echo FILE', (c, d) => {
        fs.writeFileSync(path.join(d, 'hostfile'), 'from the bundle\n');
        c.mounts.push({
          destination: '/etc/hostfile',
          type: 'bind',
          source: 'hostfile',
          options: ['bind', 'ro'],
        });
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'from the bundle\nFILE\n');
  });

  test('remount of a mount the config made earlier', () => {
    const r = run(
      bundle('grep " /data " /proc/self/mountinfo', (c) => {
        c.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
        c.mounts.push({
          destination: '/data',
          type: 'tmpfs',
          source: 'tmpfs',
          options: ['remount', 'ro', 'size=2m'],
        });
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    const m = at(parseMountinfo(r.stdout), '/data');
    assert.ok(m.opts.has('ro') && m.superOpts.has('size=2048k'), m.line);
  });

  test('tmpcopyup: the tmpfs starts with what the directory held', () => {
    const r = run(
      bundle(
        'ls -la /opt/data; cat /opt/data/f; readlink /opt/data/l; grep " /opt/data " /proc/self/mountinfo',
        (c, d) => {
          const p = path.join(d, 'rootfs', 'opt', 'data');
          fs.mkdirSync(path.join(p, 'sub'), { recursive: true });
          fs.writeFileSync(path.join(p, 'f'), 'copied\n');
          fs.symlinkSync('f', path.join(p, 'l'));
          fs.chownSync(path.join(p, 'f'), 1000, 1000);
          c.mounts.push({
            destination: '/opt/data',
            type: 'tmpfs',
            source: 'tmpfs',
            options: ['tmpcopyup', 'size=1m'],
          });
        },
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /copied\nf\n/);
    assert.match(r.stdout, /1000\s+1000\s+7 .* f\n/);
    assert.match(r.stdout, / \/opt\/data .* - tmpfs /);
  });

  test('bind mounts ignore filesystem data (as runc 1.1); a bad option is reported with the call', () => {
    const a = run(
      bundle('true', (c) =>
        c.mounts.push({
          destination: '/x',
          type: 'bind',
          source: '/tmp',
          options: ['bind', 'size=1m', 'mode=755'],
        }),
      ),
    );
    assert.equal(a.status, 0, a.stderr);
    const b = run(
      bundle('true', (c) =>
        c.mounts.push({ destination: '/x', type: 'tmpfs', source: 'tmpfs', options: ['size=lots'] }),
      ),
    );
    assert.equal(b.status, 1);
    assert.match(b.stderr, /mount tmpfs to \/x: option size=lots: EINVAL/);
  });
});

describe('propagation', () => {
  test('each propagation option, on a bind of a shared host mount with a submount', () => {
    const src = sharedHostDir('prop-src');
    const modes = [
      'private',
      'rprivate',
      'shared',
      'rshared',
      'slave',
      'rslave',
      'unbindable',
      'runbindable',
    ];
    const dir = bundle('cat /proc/self/mountinfo', (c) => {
      for (const mode of modes)
        c.mounts.push({ destination: `/p/${mode}`, type: 'bind', source: src, options: ['rbind', mode] });
    });
    const r = run(dir);
    assert.equal(r.status, 0, r.stderr);
    const mounts = parseMountinfo(r.stdout);
    const top = (mode: string) => at(mounts, `/p/${mode}`);
    const sub = (mode: string) => at(mounts, `/p/${mode}/sub`);
    // The init made / rslave: its copies of the host's shared mounts are slaves (master:N).
    assert.ok(!hasShared(top('private')) && !hasMaster(top('private')), top('private').line);
    assert.ok(hasMaster(sub('private')), 'private is not recursive');
    assert.ok(!hasShared(sub('rprivate')) && !hasMaster(sub('rprivate')), sub('rprivate').line);
    assert.ok(hasShared(top('shared')) && !hasShared(sub('shared')), top('shared').line);
    assert.ok(hasShared(top('rshared')) && hasShared(sub('rshared')), sub('rshared').line);
    assert.ok(hasMaster(top('slave')) && !hasShared(top('slave')), top('slave').line);
    assert.ok(
      hasMaster(top('rslave')) && hasMaster(sub('rslave')) && !hasShared(sub('rslave')),
      sub('rslave').line,
    );
    assert.ok(
      top('unbindable').optional.includes('unbindable') && !sub('unbindable').optional.includes('unbindable'),
    );
    assert.ok(
      top('runbindable').optional.includes('unbindable') &&
        sub('runbindable').optional.includes('unbindable'),
    );
  });

  test('a mount made on the host under a slave bind reaches the container, never the reverse', async () => {
    const src = sharedHostDir('prop-src2');
    const dir = bundle(
      'sleep 1; cat /p/slave/late/f 2>/dev/null || echo MISSING; mount -t tmpfs tmpfs /p/slave/sub && echo MOUNTED',
      (c) => {
        c.mounts.push({ destination: '/p/slave', type: 'bind', source: src, options: ['rbind', 'rslave'] });
        for (const k of ['bounding', 'effective', 'permitted'])
          c.process.capabilities[k].push('CAP_SYS_ADMIN');
      },
    );
    fs.mkdirSync(path.join(src, 'late'), { recursive: true });
    const late = path.join(base, 'late-src');
    fs.mkdirSync(late, { recursive: true });
    fs.writeFileSync(path.join(late, 'f'), 'propagated\n');
    const id = `c${++n}`;
    const child = spawn(RUNTS, ['--root', root, 'run', '--bundle', dir, id], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    // Wait until the container runs, then mount on the host.
    for (let i = 0; i < 100 && !/running/.test(runts(['--root', root, 'state', id]).stdout); i++)
      await new Promise((r) => setTimeout(r, 20));
    sh(`mount --bind ${late} ${src}/late`);
    hostMounts.push(`${src}/late`);
    await new Promise((r) => child.on('close', r));
    assert.match(out, /propagated\nMOUNTED/);
    // The container's mount on /p/slave/sub did not come back to the host.
    const onSub = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.split(' ')[4] === `${src}/sub`);
    assert.equal(onSub.length, 1, onSub.join('\n'));
  });
});

describe('rootfsPropagation, root.readonly, --no-pivot', () => {
  // The rootfs lives under a shared host mount, so slave shows as master:N.
  const modes: Array<[string, (m: MountInfo) => boolean]> = [
    ['private', (m) => !hasShared(m) && !hasMaster(m)],
    ['rprivate', (m) => !hasShared(m) && !hasMaster(m)],
    ['shared', (m) => hasShared(m)],
    ['rshared', (m) => hasShared(m)],
    ['slave', (m) => hasMaster(m) && !hasShared(m)],
    ['rslave', (m) => hasMaster(m) && !hasShared(m)],
    ['unbindable', (m) => m.optional.includes('unbindable')],
    ['runbindable', (m) => m.optional.includes('unbindable')],
  ];
  let sharedBase = '';
  for (const [mode, ok] of modes) {
    test(`rootfsPropagation ${mode}`, () => {
      sharedBase ||= sharedHostDir('rootprop');
      const dir = path.join(sharedBase, `b-${mode}`);
      makeBundle(dir, (c: Config) => {
        c.process.terminal = false;
        c.process.args = ['sh', '-c', 'cat /proc/self/mountinfo'];
        c.linux.rootfsPropagation = mode;
      });
      const r = run(dir);
      assert.equal(r.status, 0, r.stderr);
      const m = at(parseMountinfo(r.stdout), '/');
      assert.ok(ok(m), m.line);
    });
  }

  test('with rootfsPropagation shared, a bind of / sees later mounts (runtime-tools check)', () => {
    const r = run(
      bundle(
        'mkdir /target /mnt2 /test && mount -o rbind / /target && mount -o bind /test /mnt2 && touch /test/x && ls /target/mnt2',
        (c) => {
          c.linux.rootfsPropagation = 'shared';
          c.root.readonly = false;
          c.process.capabilities.bounding.push('CAP_SYS_ADMIN');
          c.process.capabilities.effective.push('CAP_SYS_ADMIN');
          c.process.capabilities.permitted.push('CAP_SYS_ADMIN');
        },
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'x');
  });

  test('root.readonly true and false', () => {
    const ro = run(
      bundle(
        'cat /proc/self/mountinfo; touch /x 2>/dev/null && echo WROTE || echo REFUSED',
        (c) => (c.root.readonly = true),
      ),
    );
    assert.equal(ro.status, 0, ro.stderr);
    assert.ok(at(parseMountinfo(ro.stdout), '/').opts.has('ro'));
    assert.match(ro.stdout, /REFUSED/);
    const rw = run(bundle('touch /x && echo WROTE', (c) => (c.root.readonly = false)));
    assert.equal(rw.stdout.trim(), 'WROTE', rw.stderr);
  });

  test('--no-pivot: the rootfs is /, no host proc or sys remains reachable', () => {
    const r = run(bundle('cat /proc/self/mountinfo; wc -c < /proc/timer_list'), ['--no-pivot']);
    assert.equal(r.status, 0, r.stderr);
    const mounts = parseMountinfo(r.stdout);
    assert.match(at(mounts, '/').root, /\/rootfs$/);
    for (const m of mounts)
      assert.ok(!m.mountPoint.startsWith('/work') && !m.mountPoint.startsWith(base), m.line);
    assert.match(r.stdout, /\n0\n$/);
  });
});

describe('user namespaces', () => {
  test('a ro bind mount stays read-only and cannot be remounted read-write', () => {
    const src = path.join(base, 'userns-src');
    fs.mkdirSync(src, { recursive: true });
    fs.chmodSync(src, 0o777);
    const r = run(
      bundle(
        'grep " /data " /proc/self/mountinfo; touch /data/x 2>&1 || true; mount -o remount,bind,rw /data 2>/dev/null && echo REMOUNTED || echo REFUSED; touch /data/y 2>/dev/null && echo WROTE || echo STILL-RO',
        (c, d) => {
          userns(c);
          fs.mkdirSync(path.join(d, 'rootfs/data'));
          c.mounts.push({ destination: '/data', type: 'bind', source: src, options: ['bind', 'ro'] });
        },
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(at(parseMountinfo(r.stdout), '/data').opts.has('ro'));
    assert.match(r.stdout, /Read-only file system/);
    assert.match(r.stdout, /REFUSED\nSTILL-RO/);
    assert.deepEqual(fs.readdirSync(src), []);
  });

  test('a source the kernel locked read-only stays so even for CAP_SYS_ADMIN; asking for rw is an error', () => {
    const src = path.join(base, 'locked-ro');
    fs.mkdirSync(src, { recursive: true });
    sh(`mount -t tmpfs -o size=1m,ro tmpfs ${src}`);
    hostMounts.push(src);
    const caps = (c: Config) => {
      for (const k of ['bounding', 'effective', 'permitted']) c.process.capabilities[k].push('CAP_SYS_ADMIN');
    };
    const r = run(
      bundle('mount -o remount,bind,rw /data 2>/dev/null && echo REMOUNTED || echo REFUSED', (c, d) => {
        userns(c);
        fs.mkdirSync(path.join(d, 'rootfs/data'));
        caps(c);
        c.mounts.push({ destination: '/data', type: 'bind', source: src, options: ['bind', 'nosuid'] });
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'REFUSED');
    const bad = run(
      bundle('true', (c, d) => {
        userns(c);
        fs.mkdirSync(path.join(d, 'rootfs/data'));
        c.mounts.push({ destination: '/data', type: 'bind', source: src, options: ['bind', 'rw'] });
      }),
    );
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /locked/);
  });

  test("devices are bind mounts of the host's nodes", () => {
    const r = run(
      bundle(
        'grep -E " /dev/(null|zero|full|random|urandom|tty|fuse) " /proc/self/mountinfo | wc -l; stat -c "%F %t %T" /dev/null /dev/fuse',
        (c) => {
          userns(c);
          c.linux.devices = [
            { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 },
          ];
        },
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      '7',
      'character special file 1 3',
      'character special file a e5',
    ]);
  });

  test('sysfs and mqueue of namespaces the container owns are mounted fresh', () => {
    const r = run(bundle('cat /proc/self/mountinfo', (c) => userns(c)));
    assert.equal(r.status, 0, r.stderr);
    const mounts = parseMountinfo(r.stdout);
    assert.equal(at(mounts, '/sys').fstype, 'sysfs');
    assert.equal(at(mounts, '/sys').root, '/');
    assert.equal(at(mounts, '/dev/mqueue').fstype, 'mqueue');
  });
});

describe('idmapped mounts', () => {
  const src = () => {
    const d = path.join(base, `idmap-src-${++n}`);
    fs.mkdirSync(d, { recursive: true });
    for (const [name, id] of [
      ['own0', 0],
      ['own1', 1],
      ['own100000', 100000],
    ] as const) {
      fs.writeFileSync(path.join(d, name), name);
      fs.chownSync(path.join(d, name), id, id);
    }
    fs.chmodSync(d, 0o755);
    return d;
  };
  const statScript = 'for f in own0 own1 own100000; do stat -c "%n %u %g" /m/$f; done';

  test('features reports idmap mounts', () => {
    const f = JSON.parse(runts(['features']).stdout);
    assert.equal(f.linux.mountExtensions.idmap.enabled, true);
    for (const o of ['rro', 'rnosuid', 'idmap', 'ridmap', 'nosymfollow', 'tmpcopyup'])
      assert.ok(f.mountOptions.includes(o), o);
  });

  test('in a user namespace: "idmap" maps with the container\'s mapping (host 0 shows as 0), a plain bind shows nobody', () => {
    const s = src();
    const r = run(
      bundle(
        `${statScript}; stat -c "%n %u" /plain/own0; grep " /m " /proc/self/mountinfo; touch /m/new && stat -c "%u" /m/new`,
        (c, d) => {
          userns(c);
          fs.mkdirSync(path.join(d, 'rootfs/m'));
          fs.mkdirSync(path.join(d, 'rootfs/plain'));
          c.mounts.push({ destination: '/m', type: 'bind', source: s, options: ['bind', 'idmap'] });
          c.mounts.push({ destination: '/plain', type: 'bind', source: s, options: ['bind'] });
        },
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 4), [
      '/m/own0 0 0',
      '/m/own1 1 1',
      '/m/own100000 65534 65534',
      '/plain/own0 65534',
    ]);
    assert.match(lines[4] ?? '', /idmapped/);
    assert.equal(lines[5], '0');
    // Written through the idmapped mount by the container's root: host owner 0.
    assert.equal(fs.statSync(path.join(s, 'new')).uid, 0);
  });

  test('explicit mount mappings: host owner 100000 shows as 0 (rootful container)', () => {
    const s = src();
    const r = run(
      bundle(statScript, (c) => {
        c.mounts.push({
          destination: '/m',
          type: 'bind',
          source: s,
          options: ['rbind'],
          uidMappings: [{ containerID: 100000, hostID: 0, size: 65536 }],
          gidMappings: [{ containerID: 100000, hostID: 0, size: 65536 }],
        });
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      '/m/own0 65534 65534',
      '/m/own1 65534 65534',
      '/m/own100000 0 0',
    ]);
  });

  test('"ridmap" idmaps the submounts of an rbind too, "idmap" only the top', () => {
    const s = src();
    fs.mkdirSync(path.join(s, 'sub'));
    sh(`mount -t tmpfs -o size=1m,mode=755 tmpfs ${s}/sub`);
    hostMounts.push(`${s}/sub`);
    const r = run(
      bundle('stat -c "%n %u" /r/sub /i/sub /r/own0 /i/own0', (c, d) => {
        userns(c);
        fs.mkdirSync(path.join(d, 'rootfs/r'));
        fs.mkdirSync(path.join(d, 'rootfs/i'));
        c.mounts.push({ destination: '/r', type: 'bind', source: s, options: ['rbind', 'ridmap'] });
        c.mounts.push({ destination: '/i', type: 'bind', source: s, options: ['rbind', 'idmap'] });
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '/r/sub 0\n/i/sub 65534\n/r/own0 0\n/i/own0 0\n');
  });

  test('idmap needs a bind mount and a mapping', () => {
    const a = run(
      bundle('true', (c) =>
        c.mounts.push({ destination: '/m', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }),
      ),
    );
    assert.equal(a.status, 1);
    assert.match(a.stderr, /only supported for bind-mounts/);
    const b = run(
      bundle('true', (c) =>
        c.mounts.push({ destination: '/m', type: 'bind', source: base, options: ['bind', 'idmap'] }),
      ),
    );
    assert.equal(b.status, 1);
    assert.match(b.stderr, /must have both uid and gid mappings/);
    assert.deepEqual(fs.existsSync(root) ? fs.readdirSync(root) : [], []);
  });
});

describe('devices', () => {
  test('each type with its mode and owner; /dev/null is c 1:3; the /dev links', () => {
    const r = run(
      bundle(
        'for d in c b p u; do stat -c "%n %F %t %T %a %u %g" /dev/t-$d; done; stat -c "%F %t %T %a" /dev/null; for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; ls /dev',
        (c) => {
          c.linux.devices = [
            { path: '/dev/t-c', type: 'c', major: 1, minor: 5, fileMode: 0o640, uid: 1000, gid: 1001 },
            { path: '/dev/t-b', type: 'b', major: 7, minor: 200, fileMode: 0o600, uid: 0, gid: 6 },
            { path: '/dev/t-p', type: 'p', fileMode: 0o620, uid: 2, gid: 3 },
            { path: '/dev/t-u', type: 'u', major: 1, minor: 9, fileMode: 0o644, uid: 4, gid: 5 },
          ];
        },
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 10), [
      '/dev/t-c character special file 1 5 640 1000 1001',
      '/dev/t-b block special file 7 c8 600 0 6',
      '/dev/t-p fifo 0 0 620 2 3',
      '/dev/t-u character special file 1 9 644 4 5',
      'character special file 1 3 666',
      '/proc/self/fd',
      '/proc/self/fd/0',
      '/proc/self/fd/1',
      '/proc/self/fd/2',
      'pts/ptmx',
    ]);
    for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) assert.ok(lines.includes(d), d);
  });

  test('a device in a subdirectory; a config device replaces the default of its path', () => {
    const r = run(
      bundle('stat -c "%t %T %a" /dev/sub/dir/dev /dev/null', (c) => {
        c.linux.devices = [
          { path: '/dev/sub/dir/dev', type: 'c', major: 1, minor: 7, fileMode: 0o600 },
          { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600 },
        ];
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '1 7 600\n1 3 600\n');
  });

  test('/dev bound from the host: nothing is made in it', () => {
    const r = run(
      bundle('stat -c "%F" /dev/ptmx', (c) => {
        c.mounts = c.mounts.filter((m: Config) => !m.destination.startsWith('/dev'));
        c.mounts.push({ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind', 'ro'] });
        c.linux.maskedPaths = [];
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'character special file');
  });
});

describe('masked and read-only paths', () => {
  test("masked files read empty (the container's /dev/null), directories are one shared read-only tmpfs; missing ones are skipped", () => {
    const r = run(
      bundle(
        'wc -c < /etc/secret; ls /etc/secretdir | wc -l; ls /etc/secretdir2 | wc -l; grep -E "/etc/secret" /proc/self/mountinfo',
        (c, d) => {
          fs.writeFileSync(path.join(d, 'rootfs/etc/secret'), 'secret');
          fs.mkdirSync(path.join(d, 'rootfs/etc/secretdir'));
          fs.mkdirSync(path.join(d, 'rootfs/etc/secretdir2'));
          fs.writeFileSync(path.join(d, 'rootfs/etc/secretdir/f'), 'secret');
          c.linux.maskedPaths = [
            '/etc/secret',
            '/etc/secretdir',
            '/etc/secretdir2',
            '/etc/no-such-path',
            '/etc/secret',
          ];
        },
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 3), ['0', '0', '0']);
    const mounts = parseMountinfo(lines.slice(3).join('\n'));
    assert.equal(at(mounts, '/etc/secret').root, '/null');
    const d1 = at(mounts, '/etc/secretdir');
    const d2 = at(mounts, '/etc/secretdir2');
    assert.ok(d1.opts.has('ro') && d1.fstype === 'tmpfs');
    assert.equal(d1.line.split(' ')[2], d2.line.split(' ')[2], 'one tmpfs instance');
  });

  test('read-only paths refuse writes; missing ones are skipped', () => {
    const r = run(
      bundle(
        'touch /etc/rodir/x 2>/dev/null && echo WROTE || echo REFUSED; grep " /etc/rodir " /proc/self/mountinfo',
        (c, d) => {
          fs.mkdirSync(path.join(d, 'rootfs/etc/rodir'));
          c.root.readonly = false;
          c.linux.readonlyPaths = ['/etc/rodir', '/no/such/path'];
        },
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^REFUSED\n/);
    assert.ok(at(parseMountinfo(r.stdout), '/etc/rodir').opts.has('ro'));
  });
});

describe('linux.sysctl', () => {
  test('sysctls of namespaces the container owns are written inside it', () => {
    const hostForward = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
    const hostShmmni = fs.readFileSync('/proc/sys/kernel/shmmni', 'utf8');
    const r = run(
      bundle(
        'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/sys/kernel/domainname /proc/sys/net/ipv4/conf/lo/forwarding',
        (c) => {
          c.linux.sysctl = {
            'net.ipv4.ip_forward': hostForward.trim() === '1' ? '0' : '1',
            'kernel.shmmni': '1234',
            'kernel.domainname': 'example.org',
            'net/ipv4/conf/lo/forwarding': '1',
          };
        },
      ),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      hostForward.trim() === '1' ? '0' : '1',
      '1234',
      'example.org',
      '1',
    ]);
    assert.equal(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostForward);
    assert.equal(fs.readFileSync('/proc/sys/kernel/shmmni', 'utf8'), hostShmmni);
  });

  test('sysctls of namespaces the container does not own are refused, the host untouched', () => {
    const hostSwappiness = fs.readFileSync('/proc/sys/vm/swappiness', 'utf8');
    const cases: Array<[Record<string, string>, (c: Config) => void, RegExp]> = [
      [{ 'vm.swappiness': '17' }, () => {}, /vm\.swappiness/],
      [
        { 'kernel.shmmni': '1234' },
        (c) => (c.linux.namespaces = c.linux.namespaces.filter((x: Config) => x.type !== 'ipc')),
        /kernel\.shmmni/,
      ],
      [
        { 'net.ipv4.ip_forward': '1' },
        (c) => (c.linux.namespaces = c.linux.namespaces.filter((x: Config) => x.type !== 'network')),
        /net\.ipv4\.ip_forward/,
      ],
      // Joining the runtime's own network namespace by path is the host's.
      [
        { 'net.ipv4.ip_forward': '1' },
        (c) =>
          (c.linux.namespaces.find((x: Config) => x.type === 'network').path = `/proc/${process.pid}/ns/net`),
        /not allowed in host network namespace/,
      ],
      [{ 'kernel.hostname': 'x' }, () => {}, /kernel\.hostname/],
    ];
    for (const [sysctl, patch, msg] of cases) {
      const r = run(
        bundle('true', (c) => {
          c.linux.sysctl = sysctl;
          patch(c);
        }),
      );
      assert.equal(r.status, 1, JSON.stringify(sysctl));
      assert.match(r.stderr, msg);
    }
    assert.equal(fs.readFileSync('/proc/sys/vm/swappiness', 'utf8'), hostSwappiness);
  });
});

describe('hostile images', () => {
  /** A host directory with a marker file; checked unchanged (and with nothing added) after each case. */
  function hostMarker(): { dir: string; check: () => void } {
    const dir = path.join(base, `host-${++n}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'marker'), 'untouched\n');
    return {
      dir,
      check: () => {
        assert.deepEqual(fs.readdirSync(dir), ['marker'], `the host directory ${dir} was written`);
        assert.equal(fs.readFileSync(path.join(dir, 'marker'), 'utf8'), 'untouched\n');
        assert.deepEqual(hostMountsUnder(dir), []);
      },
    };
  }
  const rel = (dir: string) => '../../../../../../../../..' + dir;
  const unique = () => `runts-hostile-${process.pid}-${++n}`;

  test('/etc is a symlink to /: a mount under /etc stays inside the rootfs', () => {
    const name = unique();
    const r = run(
      bundle(`grep " /${name} " /proc/self/mountinfo | wc -l; ls -d /etc/${name}`, (c, d) => {
        fs.rmSync(path.join(d, 'rootfs/etc'), { recursive: true });
        fs.symlinkSync('/', path.join(d, 'rootfs/etc'));
        c.mounts.push({ destination: `/etc/${name}`, type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
        c.mounts.push({
          destination: `/etc/${name}-file`,
          type: 'bind',
          source: '/etc/hostname',
          options: ['bind', 'ro'],
        });
      }),
    );
    assert.equal(fs.existsSync(`/${name}`), false, `/${name} made on the host`);
    assert.equal(fs.existsSync(`/${name}-file`), false, `/${name}-file made on the host`);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['1', `/etc/${name}`]);
  });

  test('a mount target that is a symlink to /, /etc/.. or / through ..: refused as the root of the container', () => {
    for (const target of ['/', '/etc/..', '../../../..']) {
      const r = run(
        bundle('true', (c, d) => {
          fs.symlinkSync(target, path.join(d, 'rootfs/data'));
          c.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
        }),
      );
      assert.equal(r.status, 1, target);
      assert.match(
        r.stderr,
        /mount tmpfs to \/data: mountpoint \/data resolves to the root of the container/,
      );
    }
  });

  test('a mount target that is a relative symlink climbing to a host path: made inside the rootfs', () => {
    const host = hostMarker();
    const r = run(
      bundle('true', (c, d) => {
        fs.symlinkSync(rel(host.dir), path.join(d, 'rootfs/data'));
        c.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
        c.mounts.push({
          destination: '/data/sub/file',
          type: 'bind',
          source: '/etc/hostname',
          options: ['bind'],
        });
      }),
    );
    host.check();
    assert.equal(r.status, 0, r.stderr);
  });

  test('/dev is a symlink to / or to a host path: refused, or kept inside the rootfs', () => {
    const toRoot = run(
      bundle('true', (_c, d) => {
        fs.rmSync(path.join(d, 'rootfs/dev'), { recursive: true });
        fs.symlinkSync('/', path.join(d, 'rootfs/dev'));
      }),
    );
    assert.equal(toRoot.status, 1);
    assert.match(toRoot.stderr, /\/dev resolves to the root of the container/);
    for (const link of ['abs', 'rel']) {
      const host = hostMarker();
      const r = run(
        bundle('stat -c "%t %T" /dev/null', (_c, d) => {
          fs.rmSync(path.join(d, 'rootfs/dev'), { recursive: true });
          fs.symlinkSync(link === 'abs' ? host.dir : rel(host.dir), path.join(d, 'rootfs/dev'));
        }),
      );
      host.check();
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '1 3\n');
    }
  });

  test('/dev not mounted and /dev/null a symlink to a host file: devices made inside, never on the host', () => {
    const host = hostMarker();
    const r = run(
      bundle('stat -c "%t %T" /dev/null; cat /dev/null | wc -c', (c, d) => {
        c.mounts = c.mounts.filter((m: Config) => m.destination !== '/dev');
        fs.symlinkSync(path.join(host.dir, 'marker'), path.join(d, 'rootfs/dev/null'));
        fs.symlinkSync(path.join(host.dir, 'zero'), path.join(d, 'rootfs/dev/zero'));
      }),
    );
    host.check();
    // As runc: an existing /dev/null is kept, and masking refuses it when it is not 1:3.
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/dev\/null/);
  });

  test('a masked or read-only path that is a symlink to the host: stays in the container, the root is refused', () => {
    const host = hostMarker();
    const r = run(
      bundle('cat /secret 2>&1 | wc -c; touch /rodir/x 2>/dev/null && echo WROTE || echo REFUSED', (c, d) => {
        fs.mkdirSync(path.join(d, 'rootfs', host.dir), { recursive: true });
        fs.writeFileSync(path.join(d, 'rootfs', host.dir, 'marker'), 'inside\n');
        fs.symlinkSync(path.join(host.dir, 'marker'), path.join(d, 'rootfs/secret'));
        fs.symlinkSync(rel(host.dir), path.join(d, 'rootfs/rodir'));
        c.root.readonly = false;
        c.linux.maskedPaths = ['/secret'];
        c.linux.readonlyPaths = ['/rodir'];
      }),
    );
    host.check();
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '0\nREFUSED\n');
    const toRoot = run(
      bundle('true', (c, d) => {
        fs.symlinkSync('/etc/..', path.join(d, 'rootfs/secret'));
        c.linux.maskedPaths = ['/secret'];
      }),
    );
    assert.equal(toRoot.status, 1);
    assert.match(toRoot.stderr, /can't mask path \/secret: .*root of the container/);
  });

  test('/proc in the image is a symlink: proc is never mounted through it', () => {
    const host = hostMarker();
    const r = run(
      bundle('true', (_c, d) => {
        fs.rmSync(path.join(d, 'rootfs/proc'), { recursive: true });
        fs.symlinkSync(host.dir, path.join(d, 'rootfs/proc'));
      }),
    );
    host.check();
    assert.equal(r.status, 1);
    assert.match(r.stderr, /filesystem "proc" must be mounted on ordinary directory/);
  });

  test('a bind mount over /proc or into it is refused where runc refuses it', () => {
    const src = path.join(base, 'fake-proc');
    fs.mkdirSync(src, { recursive: true });
    const over = run(
      bundle('true', (c) =>
        c.mounts.push({ destination: '/proc', type: 'bind', source: src, options: ['bind'] }),
      ),
    );
    assert.equal(over.status, 1);
    assert.match(over.stderr, /"\/proc" cannot be mounted because it is not of type proc/);
    const inside = run(
      bundle('true', (c) =>
        c.mounts.push({ destination: '/proc/self', type: 'bind', source: src, options: ['bind'] }),
      ),
    );
    assert.equal(inside.status, 1);
    assert.match(inside.stderr, /cannot be mounted because it is inside \/proc/);
    // lxcfs-style files are allowed.
    fs.writeFileSync(path.join(src, 'meminfo'), 'MemTotal: 1 kB\n');
    const lxcfs = run(
      bundle('cat /proc/meminfo', (c) =>
        c.mounts.push({
          destination: '/proc/meminfo',
          type: 'bind',
          source: path.join(src, 'meminfo'),
          options: ['bind'],
        }),
      ),
    );
    assert.equal(lxcfs.status, 0, lxcfs.stderr);
    assert.equal(lxcfs.stdout, 'MemTotal: 1 kB\n');
  });

  test('a symlink swapped between a directory and a host path during setup never redirects a mount', async () => {
    const host = hostMarker();
    const dir = bundle('true', (c, d) => {
      fs.mkdirSync(path.join(d, 'rootfs/realdir'));
      fs.symlinkSync('realdir', path.join(d, 'rootfs/data'));
      c.mounts.push({ destination: '/data/sub', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
      c.mounts.push({ destination: '/data/file', type: 'bind', source: '/etc/hostname', options: ['bind'] });
    });
    const rootfs = path.join(dir, 'rootfs');
    const flipper = spawn(
      'sh',
      [
        '-c',
        `cd ${rootfs} && while :; do ln -s realdir d1 && mv -T d1 data; ln -s ${host.dir} d2 && mv -T d2 data; done`,
      ],
      { stdio: 'ignore' },
    );
    try {
      for (let i = 0; i < 15; i++) run(dir);
    } finally {
      flipper.kill('SIGKILL');
      await new Promise((r) => flipper.on('close', r));
    }
    host.check();
  });
});

describe('resolution inside the rootfs (in-process, with openat2 and with the component walk)', async () => {
  const { Root } = await import('../../src/init/securejoin.js');
  const { pretendNoOpenat2 } = await import('../../src/linux/at-calls.js');
  for (const mode of ['openat2', 'walk'] as const) {
    test(`${mode}: symlinks absolute, relative, .., looping and dangling stay inside`, () => {
      pretendNoOpenat2(mode === 'walk');
      try {
        const top = path.join(base, `resolve-${mode}`);
        const r = path.join(top, 'root');
        const outside = path.join(top, 'outside');
        fs.mkdirSync(path.join(r, 'c/d'), { recursive: true });
        fs.mkdirSync(outside);
        fs.writeFileSync(path.join(outside, 'marker'), 'untouched\n');
        fs.symlinkSync('/', path.join(r, 'etc'));
        fs.symlinkSync('../../../../../../..' + outside, path.join(r, 'a'));
        fs.symlinkSync('/etc/..', path.join(r, 'b'));
        fs.symlinkSync('loop', path.join(r, 'loop'));
        fs.symlinkSync('/x/y', path.join(r, 'dangling'));
        fs.symlinkSync('../../c/./d', path.join(r, 'c/rel'));
        const root = Root.open(r);
        const close = (fd: number) => fs.closeSync(fd);
        try {
          for (const p of ['/etc', '/etc/..', '/b', '/etc/etc/etc/b/..']) {
            const fd = root.open(p);
            assert.ok(root.isRoot(fd), p);
            close(fd);
          }
          const d = root.open('/c/rel');
          assert.equal(root.pathOf(d), path.join(r, 'c/d'));
          close(d);
          assert.throws(() => root.open('/a/marker'), /ENOENT/);
          assert.throws(() => root.open('/loop/x'), /ELOOP/);
          const made = root.mkdirAll('/a/new/dir');
          assert.equal(root.pathOf(made), path.join(r, outside, 'new/dir'));
          close(made);
          const dang = root.mkdirAll('/dangling/z');
          assert.equal(root.pathOf(dang), path.join(r, 'x/y/z'));
          close(dang);
          const f = root.createTarget('/etc/hosts-x', true);
          assert.equal(root.pathOf(f), path.join(r, 'hosts-x'));
          assert.ok(fs.fstatSync(f).isFile());
          close(f);
          root.symlink('target', '/etc/lnk');
          assert.equal(fs.readlinkSync(path.join(r, 'lnk')), 'target');
          const l = root.open('/etc/lnk', undefined, true);
          assert.ok(fs.fstatSync(l).isSymbolicLink());
          close(l);
          root.unlink('/etc/lnk');
          assert.equal(fs.existsSync(path.join(r, 'lnk')), false);
          assert.deepEqual(fs.readdirSync(outside), ['marker']);
          assert.equal(fs.existsSync('/hosts-x'), false);
        } finally {
          root.close();
        }
      } finally {
        pretendNoOpenat2(false);
      }
    });
  }
});

describe('filesystems', () => {
  test('proc, sysfs, devpts (newinstance, ptmxmode), mqueue, cgroup (per hierarchy, read-only), cgroup2, overlay', () => {
    const ov = path.join(base, 'overlay');
    for (const d of ['lower', 'upper', 'work']) fs.mkdirSync(path.join(ov, d), { recursive: true });
    fs.writeFileSync(path.join(ov, 'lower/f'), 'lower\n');
    const r = run(
      bundle('cat /proc/self/mountinfo; cat /ov/f; echo upper > /ov/g', (c) => {
        c.mounts.push({
          destination: '/ov',
          type: 'overlay',
          source: 'overlay',
          options: [`lowerdir=${ov}/lower`, `upperdir=${ov}/upper`, `workdir=${ov}/work`],
        });
        c.mounts.push({ destination: '/cg2', type: 'cgroup2', source: 'cgroup2', options: ['ro', 'nosuid'] });
      }),
    );
    assert.equal(r.status, 0, r.stderr);
    const mounts = parseMountinfo(r.stdout);
    assert.equal(at(mounts, '/proc').fstype, 'proc');
    assert.equal(at(mounts, '/sys').fstype, 'sysfs');
    const pts = at(mounts, '/dev/pts');
    assert.ok(pts.fstype === 'devpts' && pts.superOpts.has('ptmxmode=666'), pts.line);
    assert.equal(at(mounts, '/dev/mqueue').fstype, 'mqueue');
    const cg = at(mounts, '/sys/fs/cgroup');
    assert.equal(cg.fstype, fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'cgroup2' : 'tmpfs');
    for (const m of mounts.filter((x) => x.mountPoint.startsWith('/sys/fs/cgroup/')))
      assert.ok(m.opts.has('ro'), m.line);
    assert.equal(at(mounts, '/cg2').fstype, 'cgroup2');
    assert.ok(at(mounts, '/cg2').opts.has('ro'));
    assert.equal(at(mounts, '/ov').fstype, 'overlay');
    assert.match(r.stdout, /\nlower\n$/);
    assert.equal(fs.readFileSync(path.join(ov, 'upper/g'), 'utf8'), 'upper\n');
  });

  test(
    "with a cgroup namespace each v1 hierarchy is mounted fresh, its root the container's cgroup",
    { skip: fs.existsSync('/sys/fs/cgroup/cgroup.controllers') && 'cgroup2-only host' },
    () => {
      const r = run(bundle('cat /proc/self/mountinfo', (c) => c.linux.namespaces.push({ type: 'cgroup' })));
      assert.equal(r.status, 0, r.stderr);
      const v1 = parseMountinfo(r.stdout).filter((m) => m.fstype === 'cgroup');
      assert.ok(v1.length > 0);
      for (const m of v1) assert.equal(m.root, '/', m.line);
    },
  );
});
