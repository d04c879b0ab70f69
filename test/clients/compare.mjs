#!/usr/bin/env node
// Runs the client suites twice, on runts (dist/) and on Debian's runc
// (CLIENT_RUNTIME=/usr/sbin/runc, or the path given as the first argument),
// and prints the scenario table per client, side by side, in markdown.
//   node test/clients/compare.mjs [/usr/sbin/runc] [file.test.ts ...]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '..', '..');
const args = process.argv.slice(2);
const runc = args[0] && !args[0].endsWith('.ts') ? args.shift() : '/usr/sbin/runc';
const files = args.length
  ? args
  : fs
      .readdirSync(here)
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => path.join(here, f));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-compare-'));

function suite(runtime) {
  const out = path.join(tmp, `${runtime ? 'runc' : 'runts'}.jsonl`);
  // The runc run is the comparison: no reference runtime inside a suite (podman-rootless).
  const env = { ...process.env, CLIENT_REFERENCE: 'none' };
  if (runtime) env.CLIENT_RUNTIME = runtime;
  else delete env.CLIENT_RUNTIME;
  const t0 = Date.now();
  spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=1',
      '--test-reporter=dot',
      '--test-reporter-destination=stderr',
      `--test-reporter=${path.join(here, 'lib', 'results-reporter.mjs')}`,
      `--test-reporter-destination=${out}`,
      ...files,
    ],
    { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const rows = fs.existsSync(out)
    ? fs
        .readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
  return { rows, secs: Math.round((Date.now() - t0) / 1000) };
}

const a = suite(undefined);
const b = suite(runc);
const cell = (r) =>
  !r
    ? '—'
    : r.result === 'pass'
      ? 'pass'
      : r.result === 'skip'
        ? 'skip'
        : r.result === 'todo'
          ? 'todo (fails)'
          : r.result === 'todo-pass'
            ? 'todo (passes)'
            : '**FAIL**';
const byFile = new Map();
for (const [which, res] of [
  ['runts', a],
  ['runc', b],
]) {
  for (const r of res.rows) {
    if (!byFile.has(r.file)) byFile.set(r.file, new Map());
    const m = byFile.get(r.file);
    if (!m.has(r.name)) m.set(r.name, {});
    m.get(r.name)[which] = r;
  }
}
for (const [file, m] of byFile) {
  console.log(
    `\n### ${file.replace('.test.ts', '')}\n\n| scenario | runts | runc | note |\n| --- | --- | --- | --- |`,
  );
  for (const [name, r] of m) {
    const note = r.runts?.reason || r.runc?.reason || '';
    console.log(`| ${name} | ${cell(r.runts)} | ${cell(r.runc)} | ${note} |`);
  }
  const sum = (w) => [...m.values()].reduce((s, r) => s + (r[w]?.ms ?? 0), 0);
  console.log(`| *time (s)* | ${Math.round(sum('runts') / 1000)} | ${Math.round(sum('runc') / 1000)} | |`);
}
console.log(`\nwhole runs: runts ${a.secs}s, runc ${b.secs}s`);
fs.rmSync(tmp, { recursive: true, force: true });
