#!/usr/bin/env node
// Wall-time benchmark of runts against runc and a bare `node -e 0`.
//
//   npm run bench                      (builds first)
//   node scripts/bench.mjs [--rounds N] [--warmup N] [--only SUBSTRING] [--keep-env]
//
// For every scenario, each round runs runts, runc and node once each (the
// order rotates from round to round so none always goes first), after
// --warmup untimed rounds. A run is timed from just before spawnSync to its
// return, so the spawn cost is the same for all three. Reported per runtime:
// median and p90 in ms; per scenario: median(runts)/median(runc) and
// median(runts) - median(node), i.e. what runts costs beyond starting node.
// Ends with one machine-readable line: `BENCH_JSON {...}`.
//
// Every child runs without NODE_EXTRA_CA_CERTS (unless --keep-env): with it
// set, each Node process loads a CA bundle at start-up (~100 ms on the
// project's machines, where it is set), which measures the environment, not
// runts; neither runtime makes TLS connections. The output says when it was
// removed.
//
// Scenarios are the data table SCENARIOS below. Only node built-ins are used.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNTS = path.join(ROOT, 'dist', 'runts');
const RUNC = process.env.BENCH_RUNC || '/usr/bin/runc'; // override to compare another build

// ---- options -----------------------------------------------------------------
const opts = { rounds: 20, warmup: 2, only: '', keepEnv: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const val = () => {
    const v = process.argv[++i];
    if (v === undefined) usage(`${a} needs a value`);
    return v;
  };
  if (a === '--rounds') opts.rounds = Number(val());
  else if (a === '--warmup') opts.warmup = Number(val());
  else if (a === '--only') opts.only = val();
  else if (a === '--keep-env') opts.keepEnv = true;
  else if (a === '-h' || a === '--help') usage();
  else usage(`unknown argument ${a}`);
}
if (!(opts.rounds >= 1) || !(opts.warmup >= 0)) usage('--rounds must be >= 1 and --warmup >= 0');

function usage(msg) {
  if (msg) console.error(`bench: ${msg}`);
  console.error('usage: node scripts/bench.mjs [--rounds N] [--warmup N] [--only SUBSTRING] [--keep-env]');
  process.exit(msg ? 2 : 0);
}

// ---- scenarios ---------------------------------------------------------------
// Each entry:
//   name           shown in the table and the JSON
//   setup(tmp)     once, before any run; gets a fresh temp dir, returns a
//                  context `s` for the other hooks (optional)
//   args(rt, s)    argv for runtime rt ('runts' | 'runc'); node always runs `-e 0`
//   cwd(rt, s)     working directory for rt (optional, default: tmp)
//   before(rt, s)  untimed, before every run of rt (optional)
//   expect         exit status each run must have: a number, or 'nonzero'
//   teardown(s)    once at the end (optional; tmp is removed anyway)
//   rounds         timed rounds for this scenario (optional, default --rounds)
const SCENARIOS = [
  {
    name: 'state <missing-id>',
    setup(tmp) {
      const roots = { runts: path.join(tmp, 'root-runts'), runc: path.join(tmp, 'root-runc') };
      for (const r of Object.values(roots)) fs.mkdirSync(r);
      return { roots };
    },
    args: (rt, s) => ['--root', s.roots[rt], 'state', 'bench-missing-id'],
    expect: 'nonzero',
  },
  {
    name: '--version',
    args: () => ['--version'],
    expect: 0,
  },
  {
    name: 'spec',
    setup(tmp) {
      const dirs = { runts: path.join(tmp, 'bundle-runts'), runc: path.join(tmp, 'bundle-runc') };
      for (const d of Object.values(dirs)) fs.mkdirSync(d);
      return { dirs };
    },
    cwd: (rt, s) => s.dirs[rt],
    before: (rt, s) => fs.rmSync(path.join(s.dirs[rt], 'config.json'), { force: true }),
    args: () => ['spec'],
    expect: 0,
  },
  // Needs root, /bin/busybox (busybox-static) and a working `runts run`. Every
  // container below lives in a cgroup under the bench's own parent (CG_PARENT),
  // removed at the end; bundles share one read-only rootfs (see bundles()).
  {
    name: 'run /bin/true',
    target: { ratio: 2.5 },
    setup: (tmp) => bundles(tmp, 'run', ['/bin/true']),
    // `run` (not detached) deletes the container when its process exits, so the id can be reused.
    args: (rt, s) => ['--root', s.roots[rt], 'run', '--bundle', s.bundle[rt], `bench-${rt}`],
    expect: 0,
  },
  {
    name: 'create + start + delete of /bin/true',
    target: { ratio: 2.5 },
    setup: (tmp) => bundles(tmp, 'csd', ['/bin/true']),
    steps: (rt, s) => [
      ['--root', s.roots[rt], 'create', '--bundle', s.bundle[rt], `bench-${rt}`],
      ['--root', s.roots[rt], 'start', `bench-${rt}`],
      // --force: /bin/true may not have exited yet when start returns.
      ['--root', s.roots[rt], 'delete', '--force', `bench-${rt}`],
    ],
    expect: 0,
  },
  {
    // `start` alone: the container is made (untimed) before every run, and deleted before the next.
    name: 'start of a created /bin/true container',
    setup: (tmp) => bundles(tmp, 'start', ['/bin/true']),
    before(rt, s) {
      runtime(rt, s, ['delete', '--force', `bench-${rt}`]);
      // The init keeps the stdio it inherits until start: give it none of ours.
      mustRun(rt, s, ['create', '--bundle', s.bundle[rt], `bench-${rt}`]);
    },
    args: (rt, s) => ['--root', s.roots[rt], 'start', `bench-${rt}`],
    expect: 0,
  },
  {
    name: 'exec /bin/true in a running container',
    target: { ratio: 2.5 },
    setup: (tmp) => runningContainer(tmp, 'exec'),
    args: (rt, s) => ['--root', s.roots[rt], 'exec', `bench-${rt}`, '/bin/true'],
    expect: 0,
  },
  {
    name: 'state of a running container',
    target: { aboveNode: 10 },
    setup: (tmp) => runningContainer(tmp, 'state'),
    args: (rt, s) => ['--root', s.roots[rt], 'state', `bench-${rt}`],
    expect: 0,
  },
  {
    name: 'list with 100 containers',
    target: { aboveNode: 10 },
    async setup(tmp) {
      const s = bundles(tmp, 'list', ['/bin/true'], 100);
      for (const rt of RUNTIMES) {
        const r = await parallel(rt, s, (i) => ['create', '--bundle', s.bundles[rt][i], `bench-${rt}-${i}`]);
        if (r.failures) throw new Error(`${rt}: ${r.failures} of 100 creates failed: ${r.firstError}`);
      }
      return s;
    },
    args: (rt, s) => ['--root', s.roots[rt], 'list'],
    expect: 0,
  },
  {
    // A sleeping container is made (untimed) before every run; the next run's before() deletes it.
    name: 'kill of a running container',
    target: { aboveNode: 10 },
    setup: (tmp) => bundles(tmp, 'kill', ['/bin/sleep', '1000']),
    before(rt, s) {
      runtime(rt, s, ['delete', '--force', `bench-${rt}`]);
      mustRun(rt, s, ['create', '--bundle', s.bundle[rt], `bench-${rt}`]);
      mustRun(rt, s, ['start', `bench-${rt}`]);
    },
    args: (rt, s) => ['--root', s.roots[rt], 'kill', `bench-${rt}`, 'KILL'],
    expect: 0,
  },
  {
    name: 'delete of a stopped container',
    target: { aboveNode: 10 },
    setup: (tmp) => bundles(tmp, 'delete', ['/bin/true']),
    before(rt, s) {
      runtime(rt, s, ['delete', '--force', `bench-${rt}`]);
      mustRun(rt, s, ['create', '--bundle', s.bundle[rt], `bench-${rt}`]);
      mustRun(rt, s, ['start', `bench-${rt}`]);
      waitStopped(rt, s, `bench-${rt}`);
    },
    args: (rt, s) => ['--root', s.roots[rt], 'delete', `bench-${rt}`],
    expect: 0,
  },
  {
    // Total wall time of 100 parallel creates, then 100 parallel starts, then 100 parallel deletes.
    name: '100 containers at once (create, start, delete)',
    target: { ratio: 2.5, noFailures: true },
    rounds: 3,
    setup: (tmp) => bundles(tmp, 'par', ['/bin/true'], 100),
    async measure(rt, s) {
      const t0 = process.hrtime.bigint();
      const c = await parallel(rt, s, (i) => ['create', '--bundle', s.bundles[rt][i], `bench-${rt}-${i}`]);
      const st = await parallel(rt, s, (i) => ['start', `bench-${rt}-${i}`]);
      const d = await parallel(rt, s, (i) => ['delete', '--force', `bench-${rt}-${i}`]);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const failures = c.failures + st.failures + d.failures;
      return { ms, failures, firstError: c.firstError ?? st.firstError ?? d.firstError };
    },
  },
  {
    // The init of a created container, waiting for start: /proc/<pid>/status and its cgroup's memory counter.
    name: 'waiting init of a created container',
    target: { rssMB: 15, threadsAtMostRunc: true, cgroupMB: 1.8 },
    rounds: 5,
    setup: (tmp) => bundles(tmp, 'mem', ['/bin/true']),
    async measure(rt, s) {
      const id = `bench-${rt}`;
      runtime(rt, s, ['delete', '--force', id]);
      mustRun(rt, s, ['create', '--bundle', s.bundle[rt], id]);
      try {
        const pid = JSON.parse(mustRun(rt, s, ['state', id])).pid;
        const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        const field = (k) => Number(status.match(new RegExp(`^${k}:\\s*(\\d+)`, 'm'))?.[1]);
        // VmRSS counts the executable's shared page-cache pages; RssAnon and Pss are what one more container costs.
        const pss = Number(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s*(\d+)/m)?.[1]);
        return {
          rssMB: field('VmRSS') / 1024,
          rssAnonMB: field('RssAnon') / 1024,
          pssMB: pss / 1024,
          threads: field('Threads'),
          cgroupMB: cgroupMemory(s.cgroup[rt]) / 2 ** 20,
        };
      } finally {
        runtime(rt, s, ['delete', '--force', id]);
      }
    },
  },
  {
    name: 'podman run --rm busybox true',
    target: { ratio: 1.2 },
    rounds: 10,
    setup: (tmp) => podmanSetup(tmp),
    client: (rt, s) => [
      s.argv[0],
      [
        ...s.argv.slice(1),
        '--runtime',
        BINS[rt],
        'run',
        '--rm',
        '--cgroup-parent',
        s.cgroupParent,
        s.image,
        'true',
      ],
    ],
    expect: 0,
    teardown: (s) => podmanTeardown(s),
  },
  {
    name: 'ctr run --rm busybox true',
    target: { ratio: 1.2 },
    rounds: 10,
    setup: (tmp) => containerdSetup(tmp),
    client: (rt, s) => [
      'ctr',
      [
        '--address',
        s.sock,
        '-n',
        'bench',
        'run',
        '--rm',
        '--runc-binary',
        BINS[rt],
        '--runc-root',
        s.runcRoot[rt],
        '--cgroup',
        `${CG_PARENT}/ctr-${rt}`,
        s.image,
        `bench-${rt}`,
        'true',
      ],
    ],
    expect: 0,
    teardown: (s) => containerdTeardown(s),
  },
  // A config of 10 MB (10,000 annotations of 1 KB): create, start and delete must stay linear
  // in the config's size (issue 21.6: 10 MB took 19.6 s, runc 0.9 s). Fewer rounds: seconds each.
  {
    name: 'run /bin/true with 10 MB of annotations',
    rounds: 5,
    setup: (tmp) =>
      bundles(tmp, 'annot', ['/bin/true'], 1, (c) => {
        c.annotations = {};
        for (let i = 0; i < 10000; i++) c.annotations['bench.' + i] = 'v'.repeat(1000);
      }),
    args: (rt, s) => ['--root', s.roots[rt], 'run', '--bundle', s.bundle[rt], `bench-${rt}`],
    expect: 0,
  },
];

// ---- containers, cgroups and clients -------------------------------------------
const RUNTIMES = ['runts', 'runc'];
// Every container's cgroup goes below this parent, in every hierarchy; removed at the end.
const CG_PARENT = `/runts-bench-${process.pid}`;
const BENCH_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-bench-'));

let sharedRootfs;
/** One busybox rootfs for every bundle of the run (bundles mount it read-only). */
function rootfs() {
  if (sharedRootfs) return sharedRootfs;
  const dir = path.join(BENCH_TMP, 'rootfs');
  // test/rootfs.ts is TypeScript: build it in a child node with tsx (a devDependency).
  const code =
    `const m = await import(${JSON.stringify(path.join(ROOT, 'test', 'rootfs.ts'))});` +
    'const { makeBusyboxRootfs } = m.makeBusyboxRootfs ? m : m.default;' + // tsx loads it as CommonJS
    `makeBusyboxRootfs(${JSON.stringify(dir)});`;
  execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    stdio: 'inherit',
    env: childEnv,
  });
  const specDir = path.join(BENCH_TMP, 'spec');
  fs.mkdirSync(specDir);
  execFileSync(RUNTS, ['spec'], { cwd: specDir, env: childEnv });
  sharedRootfs = { dir, config: JSON.parse(fs.readFileSync(path.join(specDir, 'config.json'), 'utf8')) };
  return sharedRootfs;
}

/**
 * `count` bundles per runtime running `args`, each with a cgroup of its own
 * under CG_PARENT, and a state root per runtime. s.bundle[rt] is the first.
 */
function bundles(tmp, name, args, count = 1, patch) {
  const { dir, config } = rootfs();
  const s = { roots: {}, bundles: {}, bundle: {}, cgroup: {}, cgroups: {} };
  for (const rt of RUNTIMES) {
    s.roots[rt] = path.join(tmp, `root-${rt}`);
    s.bundles[rt] = [];
    s.cgroups[rt] = [];
    for (let i = 0; i < count; i++) {
      const b = path.join(tmp, `bundle-${rt}-${i}`);
      fs.mkdirSync(b, { recursive: true });
      const c = structuredClone(config);
      c.root = { path: dir, readonly: true };
      c.process.terminal = false;
      c.process.args = args;
      c.linux.cgroupsPath = `${CG_PARENT}/${name}-${rt}-${i}`;
      patch?.(c);
      fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(c));
      s.bundles[rt].push(b);
      s.cgroups[rt].push(c.linux.cgroupsPath);
    }
    s.bundle[rt] = s.bundles[rt][0];
    s.cgroup[rt] = s.cgroups[rt][0];
  }
  return s;
}

/** A started `sleep` container per runtime (for exec and state). */
function runningContainer(tmp, name) {
  const s = bundles(tmp, name, ['/bin/sleep', '100000']);
  for (const rt of RUNTIMES) {
    mustRun(rt, s, ['create', '--bundle', s.bundle[rt], `bench-${rt}`]);
    mustRun(rt, s, ['start', `bench-${rt}`]);
  }
  return s;
}

const BINS = { runts: RUNTS, runc: RUNC };
/** Run the runtime on the scenario's state root, untimed; no stdio of ours reaches a container. */
// Files, not pipes: a created container's init keeps its stdio until start.
function runtime(rt, s, args) {
  const files = ['stdout', 'stderr'].map((n) => path.join(BENCH_TMP, n));
  const fds = files.map((f) => fs.openSync(f, 'w'));
  try {
    const r = spawnSync(BINS[rt], ['--root', s.roots[rt], ...args], {
      env: childEnv,
      stdio: ['ignore', ...fds],
      timeout: 60_000,
    });
    return { ...r, stdout: fs.readFileSync(files[0], 'utf8'), stderr: fs.readFileSync(files[1], 'utf8') };
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}
function mustRun(rt, s, args) {
  const r = runtime(rt, s, args);
  if (r.status !== 0) throw new Error(`${rt} ${args[0]} failed: ${errorLine(String(r.stderr))}`);
  return String(r.stdout);
}
function waitStopped(rt, s, id) {
  for (let i = 0; i < 200; i++) {
    if (JSON.parse(mustRun(rt, s, ['state', id])).status === 'stopped') return;
    spawnSync('sleep', ['0.01']);
  }
  throw new Error(`${rt}: ${id} did not stop`);
}

/** `argsOf(i)` for i < 100, all at once; resolves with the failures. */
async function parallel(rt, s, argsOf, n = 100) {
  // stderr to a file, not a pipe: a created container's init keeps it open until start.
  const one = (i) =>
    new Promise((resolve) => {
      const errFile = path.join(BENCH_TMP, `parallel-${rt}-${i}.err`);
      const fd = fs.openSync(errFile, 'w');
      const child = spawn(BINS[rt], ['--root', s.roots[rt], ...argsOf(i)], {
        env: childEnv,
        stdio: ['ignore', 'ignore', fd],
      });
      fs.closeSync(fd);
      child.on('error', (e) => resolve(e.message));
      child.on('exit', (code) =>
        resolve(code === 0 ? null : errorLine(fs.readFileSync(errFile, 'utf8')) || `exit ${code}`),
      );
    });
  const errors = (await Promise.all(Array.from({ length: n }, (_, i) => one(i)))).filter((e) => e !== null);
  return { failures: errors.length, firstError: errors[0] };
}

/** Every cgroup hierarchy mounted under /sys/fs/cgroup (v1 controllers, the unified one). */
function cgroupRoots() {
  const roots = new Set();
  for (const l of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const parts = l.split(' ');
    const sep = parts.indexOf('-');
    if (sep < 0) continue;
    if (/^cgroup2?$/.test(parts[sep + 1]) && parts[4].startsWith('/sys/fs/cgroup')) roots.add(parts[4]);
  }
  return [...roots];
}
/** Bytes charged to the cgroup `rel`: v1 memory.usage_in_bytes, or v2 memory.current. */
function cgroupMemory(rel) {
  for (const f of [
    `/sys/fs/cgroup/memory${rel}/memory.usage_in_bytes`,
    `/sys/fs/cgroup${rel}/memory.current`,
  ]) {
    try {
      return Number(fs.readFileSync(f, 'utf8'));
    } catch {}
  }
  return NaN;
}
/** rmdir CG_PARENT and what is below it, bottom-up, in every hierarchy; returns what could not go. */
function removeBenchCgroups() {
  const left = [];
  const rm = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) rm(path.join(dir, e.name));
    try {
      fs.rmdirSync(dir);
    } catch (e) {
      left.push(`${dir}: ${e.code}`);
    }
  };
  for (const r of cgroupRoots()) rm(path.join(r, CG_PARENT));
  return left;
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir) {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && (m === dir || m.startsWith(dir + '/')))
    .sort((a, b) => b.length - a.length);
}
function unmountUnder(dir) {
  for (let i = 0; i < 5 && mountsUnder(dir).length; i++)
    for (const m of mountsUnder(dir)) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
}
/** PIDs whose command line names `needle` (our temp paths), to end what a client left. */
function pidsWithCmdline(needle) {
  const out = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle)) out.push(Number(e));
    } catch {}
  }
  return out;
}
function killPids(pids) {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {}
  }
}
function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() || null;
}
class Skip extends Error {}
/** rmdir `dir` and the empty directories under it, bottom-up; files stay. */
function removeEmptyDirs(dir) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) removeEmptyDirs(path.join(dir, e.name));
  try {
    fs.rmdirSync(dir);
  } catch {}
}

/** The test image (test/clients/lib/image.ts, busybox-static) as an OCI archive under `dir`. */
function buildImage(dir) {
  const code =
    `const m = await import(${JSON.stringify(path.join(ROOT, 'test', 'clients', 'lib', 'image.ts'))});` +
    'const lib = m.buildImages ? m : m.default;' +
    `console.log(JSON.stringify({ ...lib.buildImages(${JSON.stringify(dir)}), name: lib.IMAGE_NAME, ref: lib.IMAGE_REF_CONTAINERD }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env: childEnv,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop());
}

/** podman with the client tests' private configuration (test/clients/lib/podman.ts) under a dir of ours. */
function podmanSetup(_tmp) {
  const missing = ['podman', 'conmon'].filter((c) => !which(c));
  if (missing.length)
    throw new Skip(`${missing.join(', ')} not installed (apt-get install podman conmon catatonit)`);
  const dir = fs.mkdtempSync('/var/tmp/runts-bench-podman-'); // conmon and the runtimes must reach it
  fs.chmodSync(dir, 0o711);
  const s = { dir, cgroupParent: `${CG_PARENT}/podman` };
  try {
    const code =
      `const m = await import(${JSON.stringify(path.join(ROOT, 'test', 'clients', 'lib', 'podman.ts'))});` +
      'const lib = m.setupPodman ? m : m.default;' +
      `const p = lib.setupPodman(${JSON.stringify(path.join(dir, 'p'))}, { wrapper: ${JSON.stringify(RUNTS)} });` +
      'console.log(JSON.stringify({ argv: p.argv, env: p.env }));';
    const p = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
        cwd: ROOT,
        env: childEnv,
        encoding: 'utf8',
      })
        .trim()
        .split('\n')
        .pop(),
    );
    const at = p.argv.indexOf('--runtime');
    p.argv.splice(at, 2); // each run names its runtime
    s.argv = p.argv;
    s.env = p.env;
    s.podman = (args, opts = {}) =>
      spawnSync(s.argv[0], [...s.argv.slice(1), ...args], {
        env: s.env,
        cwd: dir,
        encoding: 'utf8',
        timeout: 120_000,
        ...opts,
      });
    const img = buildImage(path.join(dir, 'image'));
    const r = s.podman(['load', '-i', img.oci]);
    if (r.status !== 0) throw new Error(`podman load: ${errorLine(r.stderr)}`);
    s.podman(['tag', r.stdout.match(/Loaded image(?:\(s\))?: (\S+)/)?.[1] ?? img.name, img.name]);
    s.image = img.name;
    s.clientEnv = s.env;
    s.cwd = dir;
    return s;
  } catch (e) {
    podmanTeardown(s);
    throw e;
  }
}
function podmanTeardown(s) {
  if (s.podman) {
    const left = s.podman(['ps', '-aq']).stdout.split('\n').filter(Boolean);
    if (left.length) s.podman(['rm', '-f', '-t', '0', ...left]);
    s.podman(['rmi', '-af']);
  }
  killPids(pidsWithCmdline(s.dir));
  unmountUnder(s.dir);
  fs.rmSync(s.dir, { recursive: true, force: true });
}

/** A private containerd (as test/clients/lib/containerd.ts: config, root, state and sockets in a dir of ours). */
function containerdSetup() {
  const missing = ['containerd', 'ctr', 'containerd-shim-runc-v2'].filter((c) => !which(c));
  if (missing.length) throw new Skip(`${missing.join(', ')} not installed (apt-get install containerd)`);
  const dir = fs.mkdtempSync('/var/tmp/runts-bench-containerd-');
  fs.chmodSync(dir, 0o711);
  const s = {
    dir,
    sock: path.join(dir, 'containerd.sock'),
    runDirWasThere: fs.existsSync('/run/containerd'),
    clientEnv: childEnv,
    cwd: dir,
  };
  s.runcRoot = { runts: path.join(dir, 'runc-root-runts'), runc: path.join(dir, 'runc-root-runc') };
  try {
    const config = path.join(dir, 'config.toml');
    fs.writeFileSync(
      config,
      `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "${s.sock}"
[ttrpc]
  address = "${s.sock}.ttrpc"
[debug]
  address = "${dir}/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
`,
    );
    const log = fs.openSync(path.join(dir, 'containerd.log'), 'a');
    const child = spawn('containerd', ['--config', config], {
      stdio: ['ignore', log, log],
      detached: true,
      env: { PATH: process.env.PATH, HOME: dir },
    });
    fs.closeSync(log);
    child.unref();
    s.pid = child.pid;
    const ctr = (args, timeout = 60_000) =>
      spawnSync('ctr', ['--address', s.sock, '-n', 'bench', ...args], { encoding: 'utf8', timeout });
    s.ctr = ctr;
    for (let i = 0; ctr(['version'], 5000).status !== 0; i++) {
      if (i > 300)
        throw new Error(
          `containerd did not answer: ${fs.readFileSync(path.join(dir, 'containerd.log'), 'utf8').slice(-500)}`,
        );
      spawnSync('sleep', ['0.1']);
    }
    const img = buildImage(path.join(dir, 'image'));
    const r = ctr(['images', 'import', '--all-platforms', img.oci], 120_000);
    if (r.status !== 0) throw new Error(`ctr images import: ${errorLine(r.stderr)}`);
    s.image = img.ref;
    return s;
  } catch (e) {
    containerdTeardown(s);
    throw e;
  }
}
function containerdTeardown(s) {
  if (s.ctr) {
    for (const t of s.ctr(['tasks', 'list', '-q']).stdout.split('\n').filter(Boolean)) {
      s.ctr(['tasks', 'kill', '-a', '-s', 'SIGKILL', t]);
      s.ctr(['tasks', 'delete', '-f', t]);
    }
    for (const c of s.ctr(['containers', 'list', '-q']).stdout.split('\n').filter(Boolean))
      s.ctr(['containers', 'delete', c]);
  }
  if (s.pid) killPids([s.pid]);
  // Shims outlive containerd; ours name our socket on their command line.
  killPids(pidsWithCmdline(s.dir));
  spawnSync('sleep', ['0.5']);
  unmountUnder(s.dir);
  if (!s.runDirWasThere) removeEmptyDirs('/run/containerd');
  fs.rmSync(s.dir, { recursive: true, force: true });
}

// ---- measuring ---------------------------------------------------------------
function median(xs) {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}
function percentile(xs, p) {
  // nearest rank
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))];
}
const r2 = (x) => (x === null || x === undefined ? null : Math.round(x * 100) / 100);

function firstLine(s) {
  return String(s || '')
    .trim()
    .split('\n')[0]
    .slice(0, 160);
}
/** The line of a child's stderr that says what went wrong (node stack traces start elsewhere). */
function errorLine(s) {
  const lines = String(s || '')
    .trim()
    .split('\n');
  return (lines.find((l) => /error/i.test(l)) ?? lines[0]).trim().slice(0, 200);
}

function version(bin) {
  try {
    return firstLine(
      execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    );
  } catch {
    return null;
  }
}

const childEnv = { ...process.env };
const removedCaCerts = !opts.keepEnv && childEnv.NODE_EXTRA_CA_CERTS !== undefined;
if (removedCaCerts) delete childEnv.NODE_EXTRA_CA_CERTS;

const haveRunc = fs.existsSync(RUNC);
if (!fs.existsSync(RUNTS)) {
  console.error(`bench: ${RUNTS} not found; run \`npm run build\` (or \`npm run bench\`)`);
  process.exit(1);
}

/** [bin, args, cwd, env] of one timed run: a runtime's steps, a client's command, or `node -e 0`. */
function commandsOf(rt, sc, s, tmp) {
  if (rt === 'node') return [[process.execPath, ['-e', '0'], tmp, childEnv]];
  if (sc.client) return [[...sc.client(rt, s), s.cwd ?? tmp, s.clientEnv ?? childEnv]];
  const steps = sc.steps ? sc.steps(rt, s) : [sc.args(rt, s)];
  return steps.map((args) => [BINS[rt], args, sc.cwd?.(rt, s) ?? tmp, childEnv]);
}

/** One timed run (every step of it); returns { ms }, or throws with the reason when an exit status is wrong. */
async function runOnce(rt, sc, s, tmp) {
  if (sc.measure) return rt === 'node' ? null : sc.measure(rt, s);
  if (rt !== 'node') sc.before?.(rt, s);
  let ms = 0;
  // Output goes to a file, not a pipe: a created container's init keeps its stdio until start.
  const outFile = path.join(tmp, 'output');
  for (const [bin, args, cwd, env] of commandsOf(rt, sc, s, tmp)) {
    const out = fs.openSync(outFile, 'w');
    let r;
    try {
      const t0 = process.hrtime.bigint();
      r = spawnSync(bin, args, { cwd, env, stdio: ['ignore', out, out], timeout: 60_000 });
      ms += Number(process.hrtime.bigint() - t0) / 1e6;
    } finally {
      fs.closeSync(out);
    }
    if (r.error) throw new Error(`${rt}: ${r.error.message}`);
    const want = rt === 'node' ? 0 : sc.expect;
    const ok = want === 'nonzero' ? r.status !== 0 && r.status !== null : r.status === want;
    if (!ok) {
      const how = r.signal ? `signal ${r.signal}` : `exit ${r.status}`;
      throw new Error(
        `${rt} ${args.join(' ')}: ${how}, expected ${want === 'nonzero' ? 'a failure' : `exit ${want}`}: ${errorLine(fs.readFileSync(outFile, 'utf8'))}`,
      );
    }
  }
  return { ms };
}

/** Removes whatever containers a scenario left in its state roots. */
function deleteLeftovers(s) {
  if (!s?.roots) return;
  for (const rt of RUNTIMES) {
    if (!fs.existsSync(s.roots[rt]) || (rt === 'runc' && !haveRunc)) continue;
    const r = runtime(rt, s, ['list', '-q']);
    const ids = String(r.stdout).split('\n').filter(Boolean);
    for (const id of ids) runtime(rt, s, ['delete', '--force', id]);
  }
}

async function bench(sc) {
  const tmp = fs.mkdtempSync(path.join(BENCH_TMP, 'sc-'));
  const res = { name: sc.name, notes: [] };
  let s;
  try {
    s = await sc.setup?.(tmp);
    const runtimesOnly = sc.measure || sc.client; // no `node -e 0` to compare with
    let rts = haveRunc ? ['runts', 'runc', 'node'] : ['runts', 'node'];
    if (runtimesOnly) rts = rts.filter((rt) => rt !== 'node');
    if (!haveRunc) res.notes.push(`runc skipped: ${RUNC} not found`);
    // Warm-up, which also checks every runtime behaves; a failing one is dropped.
    for (const rt of [...rts]) {
      try {
        for (let i = 0; i < Math.max(1, sc.measure ? 0 : opts.warmup); i++) await runOnce(rt, sc, s, tmp);
      } catch (e) {
        res.notes.push(`${rt} dropped: ${e.message}`);
        rts = rts.filter((x) => x !== rt);
      }
    }
    const samples = Object.fromEntries(rts.map((rt) => [rt, []]));
    for (let round = 0; round < Math.min(sc.rounds ?? opts.rounds, opts.rounds); round++) {
      for (let k = 0; k < rts.length; k++) {
        const rt = rts[(round + k) % rts.length];
        samples[rt].push(await runOnce(rt, sc, s, tmp));
      }
    }
    for (const rt of ['runts', 'runc', 'node']) {
      const xs = samples[rt];
      if (!xs?.length) {
        res[rt] = null;
        continue;
      }
      const ms = xs.map((x) => x.ms).filter((x) => x !== undefined);
      res[rt] = ms.length
        ? { median: r2(median(ms)), p90: r2(percentile(ms, 90)), min: r2(Math.min(...ms)), n: ms.length }
        : { n: xs.length };
      // Other values a measure() returns (memory, threads, failures): their medians, failures summed.
      for (const k of Object.keys(xs[0])) {
        if (k === 'ms' || typeof xs[0][k] !== 'number') continue;
        res[rt][k] = k === 'failures' ? xs.reduce((a, x) => a + x[k], 0) : r2(median(xs.map((x) => x[k])));
      }
      const err = xs.find((x) => x.firstError)?.firstError;
      if (err) res.notes.push(`${rt}: first failure: ${err}`);
    }
    const medianMs = (rt) => res[rt]?.median;
    res.ratio_runts_runc =
      medianMs('runts') && medianMs('runc') ? r2(medianMs('runts') / medianMs('runc')) : null;
    res.runts_minus_node_ms =
      medianMs('runts') && medianMs('node') ? r2(medianMs('runts') - medianMs('node')) : null;
  } catch (e) {
    if (e instanceof Skip) res.skipped = e.message;
    else res.notes.push(`error: ${e.message}`);
  } finally {
    try {
      if (s) sc.teardown?.(s);
    } catch (e) {
      res.notes.push(`teardown: ${e.message}`);
    }
    deleteLeftovers(s);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return res;
}

/** Rows of the closing summary: one per target a scenario names. */
function targetRows(r, t) {
  if (!t) return [];
  const rows = [];
  const yes = (ok) => (ok === null ? '?' : ok ? 'yes' : 'NO');
  if (r.skipped) return [[r.name, 'skipped', '-', '-']];
  if (t.ratio !== undefined) {
    const v = r.ratio_runts_runc;
    rows.push([
      `${r.name}: runts/runc <= ${t.ratio}x`,
      v === null || v === undefined ? '-' : `${v.toFixed(2)}x`,
      '',
      yes(v === null || v === undefined ? null : v <= t.ratio),
    ]);
  }
  if (t.noFailures) {
    const f = r.runts?.failures ?? 0;
    rows.push([
      `${r.name}: no failure`,
      `runts ${f}, runc ${r.runc?.failures ?? '-'}`,
      '',
      yes(r.runts ? f === 0 : null),
    ]);
  }
  if (t.aboveNode !== undefined) {
    const v = r.runts_minus_node_ms;
    rows.push([
      `${r.name}: <= node -e 0 + ${t.aboveNode} ms`,
      v === null || v === undefined ? '-' : `+${v.toFixed(1)} ms`,
      r.runc ? `runc ${r.runc.median.toFixed(1)} ms` : '',
      yes(v === null || v === undefined ? null : v <= t.aboveNode),
    ]);
  }
  const val = (rt, k, d) => (r[rt]?.[k] === undefined ? '-' : r[rt][k].toFixed(d));
  if (t.rssMB !== undefined) {
    rows.push([
      `${r.name}: VmRSS <= ${t.rssMB} MB`,
      `${val('runts', 'rssMB', 1)} MB`,
      `runc ${val('runc', 'rssMB', 1)} MB`,
      yes(r.runts ? r.runts.rssMB <= t.rssMB : null),
    ]);
  }
  if (t.rssMB !== undefined) {
    rows.push([
      `${r.name}: (RssAnon, for information)`,
      `${val('runts', 'rssAnonMB', 1)} MB`,
      `runc ${val('runc', 'rssAnonMB', 1)} MB`,
      '',
    ]);
    rows.push([
      `${r.name}: (Pss, for information)`,
      `${val('runts', 'pssMB', 1)} MB`,
      `runc ${val('runc', 'pssMB', 1)} MB`,
      '',
    ]);
  }
  if (t.threadsAtMostRunc) {
    rows.push([
      `${r.name}: threads <= runc's`,
      val('runts', 'threads', 0),
      `runc ${val('runc', 'threads', 0)}`,
      yes(r.runts && r.runc ? r.runts.threads <= r.runc.threads : null),
    ]);
  }
  if (t.cgroupMB !== undefined) {
    rows.push([
      `${r.name}: cgroup memory <= ${t.cgroupMB} MB`,
      `${val('runts', 'cgroupMB', 2)} MB`,
      `runc ${val('runc', 'cgroupMB', 2)} MB`,
      yes(r.runts && !Number.isNaN(r.runts.cgroupMB) ? r.runts.cgroupMB <= t.cgroupMB : null),
    ]);
  }
  return rows;
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cols) =>
    cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

// ---- main --------------------------------------------------------------------
const meta = {
  date: new Date().toISOString(),
  host: `${os.type()} ${os.release()}, ${os.cpus().length} cpu`,
  node: process.version,
  runts: version(RUNTS),
  runc: haveRunc ? version(RUNC) : null,
  rounds: opts.rounds,
  warmup: opts.warmup,
  nodeExtraCaCertsRemoved: removedCaCerts,
};
console.log(`runts bench: ${meta.rounds} rounds after ${meta.warmup} warm-up; ${meta.host}`);
console.log(`  runts: ${RUNTS} (${meta.runts ?? '?'})`);
console.log(
  `  runc:  ${haveRunc ? `${RUNC} (${meta.runc ?? '?'})` : `${RUNC} not found: runc figures skipped`}`,
);
console.log(`  node:  ${process.execPath} -e 0 (${process.version})`);
if (removedCaCerts)
  console.log('  NODE_EXTRA_CA_CERTS removed from the environment of every run (--keep-env keeps it)');
console.log('');

// Ctrl-C or a crash still removes our cgroups and temp dir (containers: deleteLeftovers per scenario).
const finalCleanup = () => {
  const left = removeBenchCgroups();
  fs.rmSync(BENCH_TMP, { recursive: true, force: true });
  return left;
};
process.on('SIGINT', () => {
  finalCleanup();
  process.exit(130);
});

const results = [];
try {
  for (const sc of SCENARIOS) {
    if (opts.only && !sc.name.includes(opts.only)) continue;
    const r = await bench(sc);
    r.target = sc.target ?? null;
    results.push(r);
    const brief = r.skipped
      ? `skipped: ${r.skipped}`
      : r.ratio_runts_runc
        ? `${r.ratio_runts_runc}x runc`
        : (r.notes.find((n) => n.startsWith('error')) ?? 'done');
    console.error(`bench: ${r.name}: ${brief}`);
  }
} finally {
  const left = finalCleanup();
  if (left.length) console.log(`note: cgroups left behind: ${left.join(', ')}`);
}

const fmt = (x) => (x === null || x === undefined ? '-' : x.toFixed(1));
const cell = (m) => (m?.median !== undefined ? `${fmt(m.median)} / ${fmt(m.p90)}` : '-');
console.log('wall time in ms');
table(
  ['scenario', 'runts med/p90', 'runc med/p90', 'node med/p90', 'runts/runc', 'runts-node'],
  results
    .filter((r) => r.runts?.median !== undefined || r.runc?.median !== undefined)
    .map((r) => [
      r.name,
      cell(r.runts),
      cell(r.runc),
      cell(r.node),
      r.ratio_runts_runc === null || r.ratio_runts_runc === undefined
        ? '-'
        : `${r.ratio_runts_runc.toFixed(2)}x`,
      r.runts_minus_node_ms === null || r.runts_minus_node_ms === undefined
        ? '-'
        : `${r.runts_minus_node_ms >= 0 ? '+' : ''}${fmt(r.runts_minus_node_ms)} ms`,
    ]),
);
for (const r of results) {
  if (r.skipped) console.log(`note: ${r.name}: skipped: ${r.skipped}`);
  for (const n of r.notes) console.log(`note: ${r.name}: ${n}`);
}
const summary = results.flatMap((r) => targetRows(r, r.target));
if (summary.length) {
  console.log('');
  console.log('targets (issue 19)');
  table(['target', 'runts', 'runc', 'met'], summary);
}
console.log('');
console.log(`BENCH_JSON ${JSON.stringify({ ...meta, scenarios: results })}`);
process.exitCode = results.some((r) =>
  r.notes.some((n) => n.startsWith('error') || n.startsWith('runts dropped')),
)
  ? 1
  : 0;
