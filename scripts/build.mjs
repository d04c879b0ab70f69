// Bundles src/ into dist/: runts.mjs (the CLI, with lazily loaded chunks)
// and init.mjs (the container init, loaded whole before pivot_root),
// exec-init.mjs (a process started by `runts exec`, loaded whole before it
// enters the container's mount namespace), plus
// dist/runts, the executable that clients call by path.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root }).toString().trim();
  if (dirty) commit += '-dirty';
} catch {}

// Build beside dist/ and swap it in, so a running runts (or a test) never
// finds dist/ half written.
const dist = path.join(root, 'dist');
const next = path.join(root, `.dist-${process.pid}`);
fs.rmSync(next, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { runts: 'src/main.ts', init: 'src/init/main.ts', 'exec-init': 'src/init/exec-main.ts' },
  outdir: next,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['ffi-rs'],
  minifySyntax: true,
  legalComments: 'none',
  define: { __RUNTS_VERSION__: JSON.stringify(pkg.version), __RUNTS_COMMIT__: JSON.stringify(commit) },
  logLevel: 'warning',
});
// A CommonJS shim, so the bin has no extension. Its shebang names the node
// that built it: containerd and conmon call runts with a PATH of their own.
fs.writeFileSync(
  path.join(next, 'runts'),
  `#!${process.execPath}\nimport(require("node:path").join(__dirname, "runts.mjs"));\n`,
  { mode: 0o755 },
);
const old = path.join(root, `.dist-old-${process.pid}`);
if (fs.existsSync(dist)) fs.renameSync(dist, old);
fs.renameSync(next, dist);
fs.rmSync(old, { recursive: true, force: true });
