/**
 * Bad-input fuzzing: thousands of mutated config.json files (wrong types,
 * huge and negative numbers, big integers and 1e400 as raw JSON, deep
 * nesting, NUL bytes, invalid UTF-8, very long strings and arrays, hostile
 * paths), each given to a real `runts create`. Each must end in a clear
 * error (exit 1, stderr starting with one complete `runts: ...` line, no
 * stack trace, no internal JavaScript error) or a created container (then
 * deleted); never a crash signal, a hang past the bound, a change on the
 * host, or anything left behind.
 *
 * Seeded with fast-check: the seed is printed; RUNTS_FUZZ_SEED=<seed>
 * replays a run, RUNTS_FUZZ_CONFIGS sets the count (CI: 5000),
 * RUNTS_FUZZ_JOBS the runts processes run at once (2), RUNTS_FUZZ_SAVE=<dir>
 * keeps the config of each failure.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { assertNoLeftovers, envCount, reliabilitySuite } from './lib.js';

const COUNT = envCount('RUNTS_FUZZ_CONFIGS', 5000);
const JOBS = Math.max(1, envCount('RUNTS_FUZZ_JOBS', 2));
const SEED = process.env.RUNTS_FUZZ_SEED ? Number(process.env.RUNTS_FUZZ_SEED) : Date.now() % 2 ** 31;
/** A refused config is refused in well under this; a created container too. */
const BOUND_MS = 10_000;

const s = reliabilitySuite(after);

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Raw JSON text a JSON value cannot express (big integers, 1e400, invalid UTF-8, 100k levels of nesting). */
const RAW: Buffer[] = [
  Buffer.from('1e400'),
  Buffer.from('-1e400'),
  Buffer.from('18446744073709551615'),
  Buffer.from('18446744073709551616'),
  Buffer.from('-9223372036854775809'),
  Buffer.from('9007199254740993'),
  Buffer.from('"\xff\xfe\xc3("', 'latin1'),
  Buffer.from('"a\xed\xa0\x80b"', 'latin1'),
  Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)),
  Buffer.from('{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000)),
];

const HOSTILE_PATHS = [
  '../../../../etc/passwd',
  '/',
  '..',
  '',
  '/dev/../../etc',
  'a\u0000b',
  '/tmp/../../..',
  'x'.repeat(5000),
  '/etc/shadow',
  'rel/ative',
  '/proc/self/exe',
  '\u00ff\u00fe',
  '//..//..//',
];

const common: fc.Arbitrary<Json> = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    -1,
    0,
    2 ** 31,
    2 ** 31 - 1,
    2 ** 32,
    2 ** 32 - 1,
    2 ** 53,
    -(2 ** 53),
    -(2 ** 31) - 1,
    1.5,
  ),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer()), { maxKeys: 4 }),
  fc.constantFrom(...HOSTILE_PATHS),
  fc.integer({ min: 0, max: RAW.length - 3 }).map((i) => ({ __raw: i })),
  fc.constantFrom(10_000, 1_000_000).map((n) => 'a'.repeat(n)),
  fc.constantFrom(1_000, 10_000).map((n) => new Array(n).fill(0)),
  fc.string().map((x) => `${x}\u0000${x}`),
  fc.integer({ min: 2, max: 60 }).map((d) => {
    let v: Json = 1;
    for (let i = 0; i < d; i++) v = i % 2 ? [v] : { a: v };
    return v;
  }),
);
/** 100,000 elements and deep nesting (the last two RAW): rare, as each costs seconds (today a hang: see KNOWN). */
const value: fc.Arbitrary<Json> = fc.oneof(
  { arbitrary: common, weight: 1000 },
  { arbitrary: fc.constant(new Array(100_000).fill(0)), weight: 1 },
  { arbitrary: fc.constantFrom({ __raw: RAW.length - 2 }, { __raw: RAW.length - 1 }), weight: 1 },
);

/**
 * Findings still open in config reading (issue 21, items 6 and 7, another
 * engineer's work): reported in a todo subtest, so they show without hiding
 * anything else. Remove an entry once fixed.
 */
/** RAW entries 8 and 9: 100,000 levels of arrays, 5,000 of objects. */
const isDeep = (v: Json) => v !== null && typeof v === 'object' && (v as { __raw?: number }).__raw! >= 8;
const KNOWN: Array<{ why: string; match: (failure: string, muts: Array<[string, Json]>) => boolean }> = [
  {
    why: 'issue 21.7: deeply nested JSON says only "Maximum call stack size exceeded", after seconds (5,000 levels of objects: 9 s, runc 0.08 s)',
    match: (f, muts) =>
      f.includes('Maximum call stack size exceeded') ||
      (f.includes('(hang)') && muts.some(([, v]) => isDeep(v))),
  },
  {
    why: 'issue 21.6: validating an array of 100,000 wrong elements is quadratic (well past 10 s; 10,000 take 0.6 s)',
    match: (f, muts) => f.includes('(hang)') && muts.some(([, v]) => Array.isArray(v) && v.length >= 100_000),
  },
];

/** Fields runts reads, also where the base config has none. */
const EXTRA_PATHS = [
  'process.user.uid',
  'process.user.gid',
  'process.user.additionalGids',
  'process.user.umask',
  'process.rlimits.0.hard',
  'process.rlimits.0.soft',
  'process.rlimits.0.type',
  'process.cwd',
  'process.env.0',
  'process.capabilities.bounding.0',
  'process.oomScoreAdj',
  'process.noNewPrivileges',
  'process.apparmorProfile',
  'hostname',
  'domainname',
  'root.path',
  'root.readonly',
  'mounts.0.destination',
  'mounts.0.source',
  'mounts.0.options',
  'mounts.0.type',
  'linux.resources.memory.limit',
  'linux.resources.memory.swap',
  'linux.resources.cpu.quota',
  'linux.resources.cpu.period',
  'linux.resources.cpu.cpus',
  'linux.resources.cpu.shares',
  'linux.resources.pids.limit',
  'linux.resources.devices',
  'linux.uidMappings',
  'linux.gidMappings',
  'linux.devices',
  'linux.maskedPaths.0',
  'linux.readonlyPaths.0',
  'linux.sysctl',
  'linux.namespaces.0.type',
  'linux.namespaces.0.path',
  'linux.seccomp',
  'linux.rootfsPropagation',
  'linux.mountLabel',
  'linux.personality',
  'linux.intelRdt',
  'annotations',
  'ociVersion',
  'linux.timeOffsets',
  'process.terminal',
  'process.consoleSize',
];

/** Every path in the base config below `linux.cgroupsPath`'s ancestors (never those: the cgroup must stay under the suite's parent). */
function pathsOf(v: Json, prefix: string[] = [], out: string[] = []): string[] {
  if (prefix.length > 0 && prefix.join('.') !== 'linux') out.push(prefix.join('.'));
  if (v && typeof v === 'object') for (const k of Object.keys(v)) pathsOf(v[k], [...prefix, k], out);
  return out;
}

function setAt(obj: Json, p: string, v: Json): void {
  const keys = p.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = /^\d+$/.test(k) ? [] : {};
    o = o[k];
  }
  o[keys[keys.length - 1] ?? assert.fail(`empty path ${p}`)] = v;
}

/** The config's bytes: JSON with each {__raw: i} replaced by RAW[i]. */
function serialize(cfg: Json): Buffer {
  const parts = JSON.stringify(cfg).split(/\{"__raw":(\d+)\}/);
  return Buffer.concat(
    parts.map((x, i) => (i % 2 ? (RAW[Number(x)] ?? assert.fail(`no raw value ${x}`)) : Buffer.from(x))),
  );
}

/** What of the host a config must never change (the rest is checked by the leftovers). */
function hostSnapshot(): string {
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  const etc = fs.readdirSync('/etc').map((n) => {
    try {
      return `${n}:${fs.lstatSync(path.join('/etc', n)).mtimeMs}`;
    } catch {
      return n;
    }
  });
  return JSON.stringify([
    os.hostname(),
    read('/proc/sys/kernel/domainname'),
    read('/proc/sys/net/ipv4/ip_forward'),
    read('/proc/sys/kernel/shmmax'),
    etc,
  ]);
}

/** Messages that are JavaScript's, not runts': a bug whatever the input. */
const INTERNAL =
  /\b(TypeError|RangeError|ReferenceError|SyntaxError|is not a function|Cannot read propert|Maximum call stack|undefined|\[object Object\])|^\s+at .+:\d+:\d+\)?$/m;

test(`fuzz: ${COUNT} mutated configs (seed ${SEED}) end in a clear error or a container, and leave nothing`, async (t) => {
  console.log(`fuzz seed ${SEED} (replay: RUNTS_FUZZ_SEED=${SEED})`);
  t.diagnostic(`seed ${SEED}`);
  const base = s.bundle('sleep 1000');
  const baseCfg = JSON.parse(fs.readFileSync(path.join(base, 'config.json'), 'utf8'));
  const cgroupsPath: string = baseCfg.linux.cgroupsPath;
  const paths = [...new Set([...pathsOf(baseCfg), ...EXTRA_PATHS])].filter((p) => p !== 'linux.cgroupsPath');
  const mutation = fc.tuple(fc.constantFrom(...paths), value);
  const configs = fc.sample(fc.array(mutation, { minLength: 1, maxLength: 3 }), {
    numRuns: COUNT,
    seed: SEED,
  });

  // One bundle per job, sharing the rootfs of the first (a symlink: root.path is resolved in the bundle).
  const bundles = Array.from({ length: JOBS }, (_, j) => {
    const dir = path.join(s.base, `fuzz-${j}`);
    fs.mkdirSync(dir);
    fs.symlinkSync(path.join(base, 'rootfs'), path.join(dir, 'rootfs'));
    return dir;
  });

  const hostBefore = hostSnapshot();
  const before = s.leftovers();
  const failures: string[] = [];
  let created = 0;
  let refused = 0;
  const slowest = { ms: 0, i: -1 };

  const one = async (i: number, dir: string) => {
    const changes = configs[i] ?? assert.fail(`no config ${i}`);
    const cfg = structuredClone(baseCfg);
    for (const [p, v] of changes) setAt(cfg, p, v);
    // The cgroup stays under the suite's parent whatever else changed.
    if (cfg.linux && typeof cfg.linux === 'object' && !Array.isArray(cfg.linux))
      cfg.linux.cgroupsPath = `${cgroupsPath}-${i}`;
    fs.writeFileSync(path.join(dir, 'config.json'), serialize(cfg));
    const id = `fz-${i}`;
    const t0 = Date.now();
    const r = await s.runAsync(['create', '--bundle', dir, id], { timeout: BOUND_MS });
    const ms = Date.now() - t0;
    if (ms > slowest.ms) Object.assign(slowest, { ms, i });
    const what = `config ${i} (${changes.map(([p]) => p).join(', ')})`;
    if (r.signal !== null) failures.push(`${what}: killed by ${r.signal}${ms >= BOUND_MS ? ' (hang)' : ''}`);
    else if (r.status === 0) {
      created++;
      const d = await s.runAsync(['delete', '--force', id], { timeout: BOUND_MS });
      if (d.status !== 0) failures.push(`${what}: delete failed: ${d.stderr}`);
    } else if (r.status !== 1) failures.push(`${what}: exit ${r.status}: ${r.stderr.slice(0, 300)}`);
    else {
      refused++;
      const first = r.stderr.split('\n')[0] ?? '';
      if (!/^runts: \S/.test(first) || INTERNAL.test(r.stderr))
        failures.push(`${what}: unclear error: ${r.stderr.slice(0, 300)}`);
    }
    // RUNTS_FUZZ_SAVE=<dir>: keep the config of each failure there, to replay by hand.
    if (process.env.RUNTS_FUZZ_SAVE && failures.some((f) => f.startsWith(`config ${i} `))) {
      fs.copyFileSync(
        path.join(dir, 'config.json'),
        path.join(process.env.RUNTS_FUZZ_SAVE, `seed-${SEED}-config-${i}.json`),
      );
    }
    if (fs.existsSync(path.join(s.root, id))) {
      failures.push(`${what}: state left`);
      await s.runAsync(['delete', '--force', id]);
    }
  };

  // In batches of 500, checked for leftovers between batches, when no worker
  // has a create in flight (a check beside a running create sees its container).
  for (let start = 0; start < COUNT; start += 500) {
    const end = Math.min(start + 500, COUNT);
    let next = start;
    await Promise.all(
      bundles.map(async (dir) => {
        for (let i = next++; i < end; i = next++) await one(i, dir);
      }),
    );
    if (end < COUNT) assertNoLeftovers(s, before, `fuzz configs up to ${end - 1}`);
  }
  const summary = `fuzz: ${COUNT} configs, ${refused} refused, ${created} created; slowest ${slowest.ms} ms (config ${slowest.i}); ${failures.length} failures`;
  console.log(summary);
  t.diagnostic(summary);
  assertNoLeftovers(s, before, 'the fuzzing');
  assert.equal(hostSnapshot(), hostBefore, 'the host changed');
  const known = (f: string) =>
    KNOWN.find((k) => k.match(f, configs[Number(/^config (\d+)/.exec(f)![1])] ?? assert.fail(f)));
  assert.deepEqual(failures.filter((f) => !known(f)).slice(0, 30), [], `seed ${SEED}: new failures`);
  const open = failures.filter(known);
  await t.test(
    'known open findings of config reading',
    { todo: [...new Set(open.map((f) => known(f)!.why))].join('; ') || false },
    () => {
      assert.deepEqual(open.slice(0, 30), [], `seed ${SEED}: ${open.length} known findings`);
    },
  );
});
