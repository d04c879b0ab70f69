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
import { execFileSync, spawnSync } from 'node:child_process';
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
  // Needs root, /bin/busybox (busybox-static) and a working `runts run`.
  {
    name: 'run /bin/true in the default bundle',
    setup: (tmp) => trueBundle(tmp),
    // `run` (not detached) deletes the container when its process exits, so the id can be reused.
    args: (rt, s) => ['--root', s.roots[rt], 'run', '--bundle', s.bundle, `bench-${rt}`],
    expect: 0,
  },
  {
    // `start` alone: the container is made (untimed) before every run, and deleted before the next.
    name: 'start of a created /bin/true container',
    setup: (tmp) => trueBundle(tmp),
    before(rt, s) {
      const bin = rt === 'runts' ? RUNTS : RUNC;
      const root = ['--root', s.roots[rt]];
      spawnSync(bin, [...root, 'delete', '--force', `bench-${rt}`], { env: childEnv, stdio: 'ignore' });
      // The init keeps the stdio it inherits until start: give it none of ours.
      const r = spawnSync(bin, [...root, 'create', '--bundle', s.bundle, `bench-${rt}`], {
        env: childEnv,
        stdio: 'ignore',
        timeout: 60_000,
      });
      if (r.status !== 0) throw new Error(`${rt} create failed`);
    },
    args: (rt, s) => ['--root', s.roots[rt], 'start', `bench-${rt}`],
    expect: 0,
    teardown(s) {
      for (const [rt, bin] of [
        ['runts', RUNTS],
        ['runc', RUNC],
      ]) {
        spawnSync(bin, ['--root', s.roots[rt], 'delete', '--force', `bench-${rt}`], {
          env: childEnv,
          stdio: 'ignore',
        });
      }
    },
  },
  // A config of 10 MB (10,000 annotations of 1 KB): create, start and delete must stay linear
  // in the config's size (issue 21.6: 10 MB took 19.6 s, runc 0.9 s). Fewer rounds: seconds each.
  {
    name: 'run /bin/true with 10 MB of annotations',
    rounds: 5,
    setup(tmp) {
      const bundle = path.join(tmp, 'bundle');
      const code =
        `const m = await import(${JSON.stringify(path.join(ROOT, 'test', 'rootfs.ts'))});` +
        'const { makeBundle } = m.makeBundle ? m : m.default;' +
        `makeBundle(${JSON.stringify(bundle)}, (c) => { c.process.terminal = false; c.process.args = ['/bin/true'];` +
        ` c.annotations = {}; for (let i = 0; i < 10000; i++) c.annotations['bench.' + i] = 'v'.repeat(1000); });`;
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
        cwd: ROOT,
        stdio: 'inherit',
      });
      const roots = { runts: path.join(tmp, 'root-runts'), runc: path.join(tmp, 'root-runc') };
      return { bundle, roots };
    },
    args: (rt, s) => ['--root', s.roots[rt], 'run', '--bundle', s.bundle, `bench-${rt}`],
    expect: 0,
  },
];

/** A bundle whose process is /bin/true, and a state root per runtime. */
function trueBundle(tmp) {
  const bundle = path.join(tmp, 'bundle');
  // test/rootfs.ts is TypeScript: build the bundle in a child node with tsx (a devDependency).
  const code =
    `const m = await import(${JSON.stringify(path.join(ROOT, 'test', 'rootfs.ts'))});` +
    'const { makeBundle } = m.makeBundle ? m : m.default;' + // tsx loads it as CommonJS
    `makeBundle(${JSON.stringify(bundle)}, (c) => { c.process.terminal = false; c.process.args = ['/bin/true']; });`;
  execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  const roots = { runts: path.join(tmp, 'root-runts'), runc: path.join(tmp, 'root-runc') };
  return { bundle, roots };
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

const commands = {
  runts: (sc, s) => [RUNTS, sc.args('runts', s)],
  runc: (sc, s) => [RUNC, sc.args('runc', s)],
  node: () => [process.execPath, ['-e', '0']],
};

/** One timed run; returns ms, or throws with the reason when the exit status is wrong. */
function runOnce(rt, sc, s, tmp) {
  if (rt !== 'node') sc.before?.(rt, s);
  const [bin, args] = commands[rt](sc, s);
  const cwd = rt === 'node' ? tmp : (sc.cwd?.(rt, s) ?? tmp);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw new Error(`${rt}: ${r.error.message}`);
  const want = rt === 'node' ? 0 : sc.expect;
  const ok = want === 'nonzero' ? r.status !== 0 && r.status !== null : r.status === want;
  if (!ok) {
    const how = r.signal ? `signal ${r.signal}` : `exit ${r.status}`;
    throw new Error(
      `${rt} ${args.join(' ')}: ${how}, expected ${want === 'nonzero' ? 'a failure' : `exit ${want}`}: ${errorLine(r.stderr.toString() || r.stdout.toString())}`,
    );
  }
  return ms;
}

function bench(sc) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-bench-'));
  const res = { name: sc.name, notes: [] };
  try {
    const s = sc.setup?.(tmp);
    let rts = haveRunc ? ['runts', 'runc', 'node'] : ['runts', 'node'];
    if (!haveRunc) res.notes.push(`runc skipped: ${RUNC} not found`);
    // Warm-up, which also checks every runtime behaves; a failing one is dropped.
    for (const rt of [...rts]) {
      try {
        for (let i = 0; i < Math.max(1, opts.warmup); i++) runOnce(rt, sc, s, tmp);
      } catch (e) {
        res.notes.push(`${rt} dropped: ${e.message}`);
        rts = rts.filter((x) => x !== rt);
      }
    }
    const samples = Object.fromEntries(rts.map((rt) => [rt, []]));
    for (let round = 0; round < (sc.rounds ?? opts.rounds); round++) {
      for (let k = 0; k < rts.length; k++) {
        const rt = rts[(round + k) % rts.length];
        samples[rt].push(runOnce(rt, sc, s, tmp));
      }
    }
    for (const rt of ['runts', 'runc', 'node']) {
      const xs = samples[rt];
      res[rt] = xs
        ? { median: r2(median(xs)), p90: r2(percentile(xs, 90)), min: r2(Math.min(...xs)), n: xs.length }
        : null;
    }
    res.ratio_runts_runc = res.runts && res.runc ? r2(median(samples.runts) / median(samples.runc)) : null;
    res.runts_minus_node_ms = res.runts && res.node ? r2(median(samples.runts) - median(samples.node)) : null;
    sc.teardown?.(s);
  } catch (e) {
    res.notes.push(`error: ${e.message}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return res;
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

const results = [];
for (const sc of SCENARIOS) {
  if (opts.only && !sc.name.includes(opts.only)) continue;
  results.push(bench(sc));
}

const fmt = (x) => (x === null || x === undefined ? '-' : x.toFixed(1));
const cell = (m) => (m ? `${fmt(m.median)} / ${fmt(m.p90)}` : '-');
const header = ['scenario', 'runts med/p90', 'runc med/p90', 'node med/p90', 'runts/runc', 'runts-node'];
const rows = results.map((r) => [
  r.name,
  cell(r.runts),
  cell(r.runc),
  cell(r.node),
  r.ratio_runts_runc === null || r.ratio_runts_runc === undefined ? '-' : `${r.ratio_runts_runc.toFixed(1)}x`,
  r.runts_minus_node_ms === null || r.runts_minus_node_ms === undefined
    ? '-'
    : `${r.runts_minus_node_ms >= 0 ? '+' : ''}${fmt(r.runts_minus_node_ms)} ms`,
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cols) => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log('wall time in ms');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(line(row));
for (const r of results) for (const n of r.notes) console.log(`note: ${r.name}: ${n}`);
console.log('');
console.log(`BENCH_JSON ${JSON.stringify({ ...meta, scenarios: results })}`);
process.exitCode = results.some((r) =>
  r.notes.some((n) => n.startsWith('error') || n.startsWith('runts dropped')),
)
  ? 1
  : 0;
