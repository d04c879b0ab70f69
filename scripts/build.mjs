// Bundles src/ into dist/, as CommonJS, one file per process role:
//   runts              the CLI entry: global flags, the command table, errors
//                      (the executable clients call by path: a node shebang,
//                      no extension)
//   commands/<c>.cjs   one command each (src/cli/<c>.ts), loaded by the entry
//   init.cjs           the container init (loaded whole before pivot_root)
//   exec-init.cjs      a process started by `runts exec` (loaded whole before it
//                      enters the container's mount namespace)
// Why so: a container start is two Node processes, and every millisecond of
// Node's module loading is paid twice. Node's ES module loader costs ~10 ms
// per start here (it compiles its own modules on first use), and each extra
// CommonJS file ~0.7 ms (resolve, realpath, package scope, compile), so each
// process loads two files at most. Code shared by commands is repeated in
// their bundles; only one command runs per process.
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
const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['ffi-rs'],
  minifySyntax: true,
  legalComments: 'none',
  // dynamic import() becomes require(): no ES module loader at all
  supported: { 'dynamic-import': false },
  define: {
    __RUNTS_VERSION__: JSON.stringify(pkg.version),
    __RUNTS_COMMIT__: JSON.stringify(commit),
    'import.meta.url': '__runtsModuleUrl',
  },
  // import.meta.url of the sources (libc.ts finds ffi-rs from it; yargs its locales)
  banner: { js: 'var __runtsModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: 'warning',
};

// The commands, and the CLI entry that loads them by path (commands.ts and
// main.ts import './<c>.js' dynamically).
const commandNames = fs
  .readFileSync(path.join(root, 'src/cli/commands.ts'), 'utf8')
  .concat(fs.readFileSync(path.join(root, 'src/main.ts'), 'utf8'))
  .matchAll(/import\('\.\/(?:cli\/)?([a-z-]+)\.js'\)/g);
const commandFiles = [...new Set([...commandNames].map((m) => m[1]))];
await build({
  ...common,
  entryPoints: Object.fromEntries(commandFiles.map((c) => [`commands/${c}`, `src/cli/${c}.ts`])),
  outdir: next,
  outExtension: { '.js': '.cjs' },
});
const commandsExternal = {
  name: 'commands-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/(cli\/)?[a-z-]+\.js$/ }, (args) => {
      const name = /([a-z-]+)\.js$/.exec(args.path)[1];
      const fromTable = args.importer.endsWith(path.join('src', 'cli', 'commands.ts')) || args.importer.endsWith(path.join('src', 'main.ts'));
      if (args.kind !== 'dynamic-import' || !fromTable || !commandFiles.includes(name)) return undefined;
      return { path: `./commands/${name}.cjs`, external: true };
    });
  },
};
await build({
  ...common,
  entryPoints: ['src/main.ts'],
  outfile: path.join(next, 'runts'),
  plugins: [commandsExternal],
  // Its shebang names the node that built it: containerd and conmon call
  // runts with a PATH of their own.
  banner: { js: `#!${process.execPath}\n${common.banner.js}` },
});
fs.chmodSync(path.join(next, 'runts'), 0o755);
await build({
  ...common,
  entryPoints: { init: 'src/init/main.ts', 'exec-init': 'src/init/exec-main.ts' },
  outdir: next,
  outExtension: { '.js': '.cjs' },
});

const old = path.join(root, `.dist-old-${process.pid}`);
if (fs.existsSync(dist)) fs.renameSync(dist, old);
fs.renameSync(next, dist);
fs.rmSync(old, { recursive: true, force: true });
