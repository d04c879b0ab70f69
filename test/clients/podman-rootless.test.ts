/**
 * Rootless podman 4.3 on the runtime under test: an ordinary user made for
 * the suite, with a range of /etc/subuid and /etc/subgid, runs
 * `podman --runtime <wrapper> run --network none ...` (lib/rootless-podman.ts).
 * podman makes the user namespace (root = the user, 1..65536 = the range)
 * and runs conmon and the runtime in it, so the runtime is uid 0 of a user
 * namespace that is not the host's: rootless as runc's `--rootless auto`.
 *
 * Each scenario runs on the runtime under test (dist/, or CLIENT_RUNTIME)
 * and, for comparison, on Debian's runc (CLIENT_REFERENCE, default
 * /usr/sbin/runc; `none`, as compare.mjs sets, for none), with the same
 * user, storage and image. Needs root (to make the user), podman, conmon,
 * catatonit and uidmap's newuidmap/newgidmap; skipped with the reason
 * otherwise. On this host (cgroup v1 and hybrid) podman gives rootless
 * containers no cgroup, with runc as with runts.
 */
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { alive, makeTempDir, setupRuntime, show, waitFor, type Runtime } from './lib/common.js';
import { buildImages, IMAGE_NAME } from './lib/image.js';
import {
  podmanCgroups,
  setupRootlessPodman,
  shareRuntime,
  teardownRootlessPodman,
  wrapRuntime,
  type RootlessPodman,
} from './lib/rootless-podman.js';
import { scenario, clientAvailable } from './lib/scenario.js';
import { createTestUser, type TestUser } from '../rootless-user.js';

function whyNot(): string | false {
  if (process.geteuid?.() !== 0) return 'needs root: the suite creates a user and its /etc/subuid range';
  const need: Array<[string, string]> = [
    ['podman', 'podman'],
    ['conmon', 'conmon'],
    ['catatonit', 'catatonit'],
    ['newuidmap', 'uidmap'],
    ['newgidmap', 'uidmap'],
    ['setpriv', 'util-linux'],
    ['useradd', 'passwd'],
  ];
  const missing = need.filter(([bin]) => !clientAvailable([bin]));
  if (missing.length)
    return `${missing.map(([b]) => b).join(', ')} not installed (apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')})`;
  return false;
}

const SKIP = whyNot();
const REFERENCE = process.env.CLIENT_REFERENCE ?? '/usr/sbin/runc';
const base = SKIP ? '' : makeTempDir('rtc-podman-rootless-');
const runtimes: Runtime[] = [];
if (!SKIP) {
  runtimes.push(setupRuntime(path.join(base, 'rt')));
  if (!process.env.CLIENT_RUNTIME && REFERENCE !== 'none' && fs.existsSync(REFERENCE))
    runtimes.push(wrapRuntime(path.join(base, 'ref'), REFERENCE, path.basename(REFERENCE)));
}

// Made by the before-hook (not when the suite is skipped).
let theUser: TestUser | undefined;
let thePodman: RootlessPodman | undefined;
let cgroupsBefore: string[] = [];
const removeUser: Array<() => void> = [];
let nData = 0;

/** A fresh directory of the user's under the temp dir (a bind source), mode `mode`. */
function dataDir(mode = 0o755): string {
  const user = theUser ?? assert.fail('no user');
  const d = path.join(base, `data-${++nData}`);
  fs.mkdirSync(d);
  fs.chownSync(d, user.uid, user.gid);
  fs.chmodSync(d, mode);
  return d;
}

/** uid_map/gid_map lines with the columns' padding collapsed: "0 1000 1". */
const mapLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '));

/** The Uid: and Gid: lines of /proc/PID/status: real uid and gid as the host sees them. */
function hostIds(pid: number): { uid: number; gid: number } {
  const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    uid: Number(st.match(/^Uid:\s+(\d+)/m)?.[1]),
    gid: Number(st.match(/^Gid:\s+(\d+)/m)?.[1]),
  };
}

function scenarios(rt: Runtime): void {
  let n = 0;
  // Getters: the user and podman are made by the before-hook, after these scenarios are defined.
  const me = () => theUser ?? assert.fail('no user');
  const p = (args: string[], timeout = 120_000) =>
    (thePodman ?? assert.fail('no podman')).podman(rt, args, { timeout });
  const name = () => `rl-${rt.kind}-${++n}`;
  const sh = (script: string) => ['sh', '-c', script];

  /** `run -d`: the container's name and its init's host PID, once it runs. */
  async function runD(flags: string[], cmd: string[]): Promise<{ id: string; pid: number }> {
    const id = name();
    const r = p(['run', '-d', '--name', id, ...flags, IMAGE_NAME, ...cmd]);
    assert.equal(r.status, 0, show(r, rt));
    const pid = await waitFor(
      () => Number(p(['inspect', '--format', '{{.State.Pid}}', id]).stdout.trim()) || 0,
      20_000,
      `${id} running`,
    );
    return { id, pid };
  }
  const rmF = (id: string) => p(['rm', '-f', '-t', '0', id]);
  const exitCode = (id: string) => p(['inspect', '--format', '{{.State.ExitCode}}', id]).stdout.trim();

  scenario(rt, 'run --rm: root is the user, 1..65536 its subordinate range', () => {
    const user = me();
    const r = p(['run', '--rm', IMAGE_NAME, ...sh('id; cat /proc/self/uid_map /proc/self/gid_map')]);
    assert.equal(r.status, 0, show(r, rt));
    assert.deepEqual(
      mapLines(r.stdout),
      [
        'uid=0(root) gid=0(root)',
        `0 ${user.uid} 1`,
        `1 ${user.subStart} ${user.subCount}`,
        `0 ${user.gid} 1`,
        `1 ${user.subStart} ${user.subCount}`,
      ],
      show(r, rt),
    );
  });

  scenario(rt, "run: the process's exit status and its stdout and stderr", () => {
    const r = p(['run', '--rm', IMAGE_NAME, ...sh('echo to-out; echo to-err >&2; exit 42')]);
    assert.equal(r.status, 42, show(r, rt));
    assert.equal(r.stdout, 'to-out\n', show(r, rt));
    assert.match(r.stderr, /^to-err$/m, show(r, rt));
  });

  scenario(rt, "run -d: the host sees the user's uid for root, a subordinate id for uid 1000", async () => {
    const user = me();
    const a = await runD([], ['sleep', '1000']);
    const b = await runD(['--user', '1000:1000'], ['sleep', '1000']);
    try {
      assert.deepEqual(hostIds(a.pid), { uid: user.uid, gid: user.gid });
      assert.deepEqual(hostIds(b.pid), { uid: user.subStart + 999, gid: user.subStart + 999 });
      assert.deepEqual(mapLines(fs.readFileSync(`/proc/${a.pid}/uid_map`, 'utf8')), [
        `0 ${user.uid} 1`,
        `1 ${user.subStart} ${user.subCount}`,
      ]);
      const ps = p(['ps', '--format', '{{.Names}} {{.Status}}']);
      assert.match(ps.stdout, new RegExp(`^${a.id} Up`, 'm'), show(ps, rt));
      assert.match(ps.stdout, new RegExp(`^${b.id} Up`, 'm'), show(ps, rt));
    } finally {
      rmF(a.id);
      rmF(b.id);
    }
    assert.ok(!alive(a.pid) && !alive(b.pid), 'the containers ended with rm -f');
  });

  scenario(rt, 'exec into a running container', async () => {
    const c = await runD([], ['sleep', '1000']);
    try {
      const r = p([
        'exec',
        c.id,
        ...sh('id -u; readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; cat /proc/1/comm'),
      ]);
      assert.equal(r.status, 0, show(r, rt));
      assert.deepEqual(
        r.stdout.trim().split('\n'),
        ['0', fs.readlinkSync(`/proc/${c.pid}/ns/pid`), fs.readlinkSync(`/proc/${c.pid}/ns/mnt`), 'sleep'],
        show(r, rt),
      );
      const u = p(['exec', '--user', '1000', c.id, 'id']);
      assert.equal(u.status, 0, show(u, rt));
      assert.equal(u.stdout, 'uid=1000(tester) gid=1000(tester)\n', show(u, rt));
      const s = p(['exec', c.id, ...sh('exit 5')]);
      assert.equal(s.status, 5, show(s, rt));
    } finally {
      rmF(c.id);
    }
  });

  scenario(rt, '--userns keep-id: the user is itself inside, root is a subordinate id', () => {
    const user = me();
    const r = p([
      'run',
      '--rm',
      '--userns',
      'keep-id',
      IMAGE_NAME,
      ...sh('id -u; id -g; cat /proc/self/uid_map'),
    ]);
    assert.equal(r.status, 0, show(r, rt));
    // uid_map as the container sees it: ids of podman's namespace (0 = the user).
    assert.deepEqual(
      mapLines(r.stdout),
      [
        String(user.uid),
        String(user.gid),
        `0 1 ${user.uid}`,
        `${user.uid} 0 1`,
        `${user.uid + 1} ${user.uid + 1} ${user.subCount + 1 - (user.uid + 1)}`,
      ],
      show(r, rt),
    );
  });

  scenario(rt, '--userns keep-id: exec, and files written to a bind mount', async () => {
    const user = me();
    const data = dataDir();
    const c = await runD(['--userns', 'keep-id', '-v', `${data}:/data`], ['sleep', '1000']);
    try {
      assert.deepEqual(hostIds(c.pid), { uid: user.uid, gid: user.gid });
      const r = p(['exec', c.id, ...sh('id -u; echo mine > /data/by-user')]);
      assert.equal(r.status, 0, show(r, rt));
      assert.equal(r.stdout, `${user.uid}\n`, show(r, rt));
      const st = fs.statSync(path.join(data, 'by-user'));
      assert.deepEqual([st.uid, st.gid], [user.uid, user.gid]);
    } finally {
      rmF(c.id);
    }
  });

  scenario(rt, '--uidmap/--gidmap: a mapping of two ranges', () => {
    const user = me();
    const data = dataDir(0o777);
    const maps = [
      '--uidmap',
      '0:1:1000',
      '--uidmap',
      '1000:0:1',
      '--gidmap',
      '0:1:1000',
      '--gidmap',
      '1000:0:1',
    ];
    const r = p([
      'run',
      '--rm',
      ...maps,
      '-v',
      `${data}:/data`,
      IMAGE_NAME,
      ...sh('cat /proc/self/uid_map /proc/self/gid_map; id -u; ls -ln /bin/busybox; touch /data/by-root'),
    ]);
    assert.equal(r.status, 0, show(r, rt));
    const lines = mapLines(r.stdout);
    assert.deepEqual(lines.slice(0, 5), ['0 1 1000', '1000 0 1', '0 1 1000', '1000 0 1', '0'], show(r, rt));
    assert.match(lines[5] ?? '', /^-rwxr-xr-x 1 0 0 .*\/bin\/busybox$/, show(r, rt));
    const u = p([
      'run',
      '--rm',
      ...maps,
      '--user',
      '1000:1000',
      '-v',
      `${data}:/data`,
      IMAGE_NAME,
      'touch',
      '/data/by-1000',
    ]);
    assert.equal(u.status, 0, show(u, rt));
    // Container root is podman's 1, the range's first id; container 1000 is podman's 0, the user.
    const owner = (f: string) => {
      const st = fs.statSync(path.join(data, f));
      return [st.uid, st.gid];
    };
    assert.deepEqual(owner('by-root'), [user.subStart, user.subStart]);
    assert.deepEqual(owner('by-1000'), [user.uid, user.gid]);
  });

  scenario(rt, '-v hostdir:/data: read-write, and :ro', () => {
    const user = me();
    const data = dataDir();
    fs.writeFileSync(path.join(data, 'in'), 'from the host\n');
    fs.chownSync(path.join(data, 'in'), user.uid, user.gid);
    const r = p([
      'run',
      '--rm',
      '-v',
      `${data}:/data`,
      IMAGE_NAME,
      ...sh('cat /data/in; echo from the container > /data/out; ls -ln /data/in'),
    ]);
    assert.equal(r.status, 0, show(r, rt));
    assert.match(r.stdout, /^from the host\n-rw-r--r-- +1 0 +0 .*\/data\/in\n$/, show(r, rt));
    const st = fs.statSync(path.join(data, 'out'));
    assert.deepEqual([st.uid, st.gid], [user.uid, user.gid]);
    assert.equal(fs.readFileSync(path.join(data, 'out'), 'utf8'), 'from the container\n');

    const ro = p([
      'run',
      '--rm',
      '-v',
      `${data}:/data:ro`,
      IMAGE_NAME,
      ...sh('cat /data/in; grep " /data " /proc/self/mountinfo; echo x > /data/ro'),
    ]);
    assert.equal(ro.status, 1, show(ro, rt));
    assert.match(ro.stdout, /^from the host\n\S+ \S+ \S+ \S+ \/data ro[,\s]/, show(ro, rt));
    assert.match(ro.stderr, /Read-only file system/, show(ro, rt));
    assert.ok(!fs.existsSync(path.join(data, 'ro')));
  });

  scenario(rt, 'stop: SIGTERM to a trapping init; SIGKILL after -t when ignored', async () => {
    const a = await runD(
      [],
      sh('trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.1; done'),
    );
    const b = await runD([], ['sleep', '1000']);
    try {
      await waitFor(() => p(['logs', a.id]).stdout.includes('ready'), 20_000, 'ready in the logs');
      const s = p(['stop', '-t', '10', a.id]);
      assert.equal(s.status, 0, show(s, rt));
      assert.equal(exitCode(a.id), '3');
      assert.equal(p(['logs', a.id]).stdout, 'ready\ngot TERM\n');
      // sleep as PID 1 has no handler: SIGTERM does nothing, SIGKILL after 1 s.
      const t0 = Date.now();
      const k = p(['stop', '-t', '1', b.id]);
      assert.equal(k.status, 0, show(k, rt));
      assert.ok(Date.now() - t0 >= 900, 'stop waited for the timeout');
      assert.equal(exitCode(b.id), '137');
      assert.ok(!alive(a.pid) && !alive(b.pid));
    } finally {
      rmF(a.id);
      rmF(b.id);
    }
  });

  scenario(rt, 'kill: a chosen signal, and SIGKILL', async () => {
    const a = await runD(
      [],
      sh('trap "echo got USR1; exit 7" USR1; echo ready; while :; do sleep 0.1; done'),
    );
    const b = await runD([], ['sleep', '1000']);
    try {
      await waitFor(() => p(['logs', a.id]).stdout.includes('ready'), 20_000, 'ready in the logs');
      const k = p(['kill', '--signal', 'USR1', a.id]);
      assert.equal(k.status, 0, show(k, rt));
      const w = p(['wait', a.id]);
      assert.equal(w.stdout.trim(), '7', show(w, rt));
      assert.equal(p(['logs', a.id]).stdout, 'ready\ngot USR1\n');
      const kk = p(['kill', b.id]);
      assert.equal(kk.status, 0, show(kk, rt));
      const wb = p(['wait', b.id]);
      assert.equal(wb.stdout.trim(), '137', show(wb, rt));
      await waitFor(() => !alive(b.pid), 10_000, 'the killed init gone');
    } finally {
      rmF(a.id);
      rmF(b.id);
    }
  });

  scenario(rt, 'logs: stdout and stderr of a detached container, after it exits', () => {
    const c = { id: name() };
    const r = p([
      'run',
      '-d',
      '--name',
      c.id,
      IMAGE_NAME,
      ...sh('echo out1; echo err1 >&2; sleep 0.2; echo out2'),
    ]);
    assert.equal(r.status, 0, show(r, rt));
    try {
      const w = p(['wait', c.id]);
      assert.equal(w.stdout.trim(), '0', show(w, rt));
      const l = p(['logs', c.id]);
      assert.equal(l.status, 0, show(l, rt));
      assert.equal(l.stdout, 'out1\nout2\n', show(l, rt));
      assert.equal(l.stderr.split('\n').filter((s) => s === 'err1').length, 1, show(l, rt));
      const tail = p(['logs', '--tail', '1', c.id]);
      assert.equal(tail.stdout, 'out2\n', show(tail, rt));
    } finally {
      rmF(c.id);
    }
  });
}

describe(
  'podman-rootless (an ordinary user with /etc/subuid ranges)',
  { skip: SKIP || false, timeout: 30 * 60_000 },
  () => {
    before(() => {
      const user = createTestUser((fn) => removeUser.push(fn), 'runtspm');
      theUser = user;
      for (const rt of runtimes) shareRuntime(rt, user);
      cgroupsBefore = podmanCgroups(user);
      const pm = setupRootlessPodman(path.join(base, 'podman'), user);
      thePodman = pm;
      const imgDir = path.join(base, 'image');
      const images = buildImages(imgDir);
      fs.chmodSync(imgDir, 0o755);
      fs.chmodSync(images.oci, 0o644);
      const r = pm.as([...pm.argv, 'load', '-i', images.oci]);
      assert.equal(r.status, 0, show(r));
      const loaded = r.stdout.match(/Loaded image(?:\(s\))?: (\S+)/)?.[1] ?? IMAGE_NAME;
      const t = pm.as([...pm.argv, 'tag', loaded, IMAGE_NAME]);
      assert.equal(t.status, 0, show(t));
    });

    after(async () => {
      const problems: string[] = [];
      try {
        if (thePodman) problems.push(...(await teardownRootlessPodman(thePodman, cgroupsBefore)));
      } finally {
        for (const f of removeUser) f();
        fs.rmSync(base, { recursive: true, force: true });
      }
      const user = theUser;
      if (user) {
        for (const f of ['/etc/subuid', '/etc/subgid', '/etc/passwd'])
          if (
            fs
              .readFileSync(f, 'utf8')
              .split('\n')
              .some((l) => l.startsWith(`${user.name}:`))
          )
            problems.push(`${f} still names ${user.name}`);
      }
      assert.deepEqual(problems, [], 'the suite left things behind');
    });

    for (const rt of runtimes) describe(`on ${rt.kind}`, () => scenarios(rt));
    if (!process.env.CLIENT_RUNTIME && REFERENCE !== 'none' && !fs.existsSync(REFERENCE))
      describe(
        `on ${path.basename(REFERENCE)}`,
        { skip: `${REFERENCE} not installed (apt-get install runc)` },
        () => {},
      );
  },
);
