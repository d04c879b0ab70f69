// The import graph of src/: fails on a cycle (runtime imports; a type-only
// import is erased) and on an arrow against the layering (any import):
//
//   main.ts -> cli/ -> container/ -> {process/, cgroups/, spec/} -> linux/
//
// The init (src/init/) runs inside the container and uses only linux/, the
// sync protocol (process/protocol.ts), hooks (process/hooks.ts) and the
// spec's types. Shared leaves (errors, json, output, ...) may be imported
// from anywhere and import nothing above linux/.
// Usage: node scripts/check-imports.mjs  (exit 1 with one line per problem)
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const src = path.join(root, 'src');

/** Rank of each layer: an import must point to a rank below, or to its own layer. */
const RANK = { main: 5, cli: 4, container: 3, process: 2, cgroups: 2, spec: 2, init: 2, linux: 1, shared: 0 };
const SHARED = new Set([
  'errors.ts',
  'json.ts',
  'output.ts',
  'test-points.ts',
  'version.ts',
  'code-cache.ts',
]);
/** What the init may import outside itself. */
const INIT_MAY_IMPORT = [
  /^linux\//,
  /^process\/protocol\.ts$/,
  /^process\/hooks\.ts$/,
  /^spec\/types\.gen\.ts$/,
];
/** Same-rank layers that may import each other (what they share, not a cycle). */
const SIDEWAYS = new Set(['process->cgroups', 'process->spec', 'cgroups->spec', 'spec->cgroups']);

/**
 * Arrows against the layering that are known and owned by another change:
 * each names where its target belongs. Remove an entry once it is moved.
 */
const KNOWN = new Map([]);

function layerOf(file) {
  if (file === 'main.ts') return 'main';
  if (SHARED.has(file)) return 'shared';
  return file.split('/')[0];
}

function listTs(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return listTs(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative imports of a file: { target, typeOnly }. */
function importsOf(file) {
  const text = fs.readFileSync(file, 'utf8');
  const out = [];
  const patterns = [
    /^\s*(import|export)\s+(type\s+)?[^'";]*?\bfrom\s+'(\.[^']+)'/gm,
    /^\s*import\s+'(\.[^']+)'/gm,
    /\bimport\(\s*'(\.[^']+)'\s*\)/g,
    /\brequire\(\s*'(\.[^']+)'\s*\)/g,
    /\bimport\('(\.[^']+)'\)\.default/g,
  ];
  for (const m of text.matchAll(patterns[0])) {
    // `import { type A, type B } from` is type-only too.
    const clause = m[0];
    const typeOnly =
      m[2] !== undefined ||
      /^\s*(import|export)\s*\{\s*(type\s+[\w$]+(\s+as\s+[\w$]+)?\s*,?\s*)+\}\s*from/.test(clause);
    out.push({ spec: m[3], typeOnly });
  }
  for (const re of patterns.slice(1))
    for (const m of text.matchAll(re)) out.push({ spec: m[1], typeOnly: false });
  // `typeof import('./x.js')` in a type position is type-only.
  for (const m of text.matchAll(/typeof import\('(\.[^']+)'\)/g)) {
    const i = out.findIndex((o) => o.spec === m[1] && !o.typeOnly);
    if (i >= 0) out[i].typeOnly = true;
  }
  return out.map(({ spec, typeOnly }) => {
    const abs = path.resolve(path.dirname(file), spec);
    const ts = abs.replace(/\.js$/, '.ts');
    const target = fs.existsSync(ts) ? ts : abs;
    return { target: path.relative(src, target), typeOnly };
  });
}

const files = listTs(src).map((f) => path.relative(src, f));
const graph = new Map(files.map((f) => [f, importsOf(path.join(src, f))]));
const problems = [];

for (const [from, imports] of graph) {
  const lf = layerOf(from);
  for (const { target } of imports) {
    if (KNOWN.has(`${from} -> ${target}`)) continue;
    const lt = layerOf(target);
    if (lf === lt) continue;
    if (lf === 'init') {
      if (lt !== 'shared' && !INIT_MAY_IMPORT.some((re) => re.test(target)))
        problems.push(`layering: ${from} -> ${target} (the init uses only linux/, the protocol and hooks)`);
      continue;
    }
    if (lt === 'init') {
      problems.push(`layering: ${from} -> ${target} (only the init's entry points load src/init/)`);
      continue;
    }
    if (RANK[lt] < RANK[lf]) continue;
    if (RANK[lt] === RANK[lf] && SIDEWAYS.has(`${lf}->${lt}`)) continue;
    problems.push(`layering: ${from} -> ${target} (${lf} may not import ${lt})`);
  }
}

// Cycles among runtime imports: depth-first search, each cycle reported once.
const state = new Map();
const stack = [];
const seen = new Set();
function visit(f) {
  state.set(f, 'open');
  stack.push(f);
  for (const { target, typeOnly } of graph.get(f) ?? []) {
    if (typeOnly || !graph.has(target)) continue;
    if (state.get(target) === 'open') {
      const cycle = stack.slice(stack.indexOf(target));
      const key = [...cycle].sort().join(' ');
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`cycle: ${[...cycle, target].join(' -> ')}`);
      }
    } else if (!state.has(target)) visit(target);
  }
  stack.pop();
  state.set(f, 'done');
}
for (const f of files) if (!state.has(f)) visit(f);

for (const p of problems) console.log(p);
if (problems.length > 0) {
  console.log(`check-imports: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`check-imports: ${files.length} files, no cycles, no arrow against the layering`);
