// Bundles src/ into dist/, as CommonJS, a few files per process role:
//   runts                the CLI entry: global flags, the command table,
//                        errors (the executable clients call by path: a node
//                        shebang, no extension)
//   commands/<c>.cjs     one command each (src/cli/<c>.ts)
//   init.cjs             entry of the container init, which loads
//   init-main.cjs        the init itself (loaded whole before pivot_root)
//   setns-init.cjs       entry of a process started by `runts exec`, which loads
//   setns-init-main.cjs  its code (loaded whole before it enters the
//                        container's mount namespace)
//   runts-wait           the init's last step, a small static program
//                        (src/native/runts-wait.c), when a C compiler is there
//   *.v8cache            V8 code caches of the .cjs bundles (src/code-cache.ts)
// Why so: a container start is two Node processes, and every millisecond of
// Node's module loading is paid twice. Node's ES module loader costs ~10 ms
// per start here (it compiles its own modules on first use), each extra
// CommonJS file ~0.7 ms (resolve, realpath, package scope), and compiling a
// bundle up to 20 ms (the config validator is 180 kB of generated code).
// Code shared by commands is repeated in their bundles; one command runs per
// process.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();
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
    'import.meta.url': '__runtsModule.url',
  },
  banner: {
    js: [
      // import.meta.url of the sources (libc.ts finds ffi-rs from it; yargs its locales)
      'var __runtsModule = { get url() { return require("node:url").pathToFileURL(__filename).href; } };',
      // one interop copy per Node built-in: see the __toESM rewrite below
      'var __runtsBuiltins = {}, __runtsBuiltin = (id) => __runtsBuiltins[id] ??= __toESM(require(id));',
    ].join('\n'),
  },
  logLevel: 'warning',
};

// Bundles loaded by an entry: dynamic import() of these modules in the
// entries becomes require() of the bundle.
const commandNames = fs
  .readFileSync(path.join(root, 'src/cli/commands.ts'), 'utf8')
  .concat(fs.readFileSync(path.join(root, 'src/main.ts'), 'utf8'))
  .matchAll(/import\('\.\/(?:cli\/)?([a-z-]+)\.js'\)/g);
const roleBundles = [
  ...[...new Set([...commandNames].map((m) => m[1]))].map((c) => ({
    importers: ['src/main.ts', 'src/cli/commands.ts'],
    module: `src/cli/${c}.ts`,
    out: `commands/${c}.cjs`,
  })),
  { importers: ['src/init/main.ts'], module: 'src/init/init.ts', out: 'init-main.cjs' },
  { importers: ['src/init/setns-main.ts'], module: 'src/init/setns-init.ts', out: 'setns-init-main.cjs' },
];
await build({
  ...common,
  entryPoints: Object.fromEntries(roleBundles.map((b) => [b.out.replace(/\.cjs$/, ''), b.module])),
  outdir: next,
  outExtension: { '.js': '.cjs' },
});
const roleBundlesExternal = {
  name: 'role-bundles-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/(cli\/)?[a-z-]+\.js$/ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const importer = path.relative(root, args.importer);
      const module = path.relative(
        root,
        path.resolve(path.dirname(args.importer), args.path.replace(/\.js$/, '.ts')),
      );
      const target = roleBundles.find((r) => r.module === module && r.importers.includes(importer));
      if (!target) return undefined;
      // relative to the entry, which is in dist/ itself
      return { path: `./${target.out}`, external: true };
    });
  },
};
await build({
  ...common,
  entryPoints: ['src/main.ts'],
  outfile: path.join(next, 'runts'),
  plugins: [roleBundlesExternal],
  // Its shebang names the node that built it: containerd and conmon call
  // runts with a PATH of their own.
  banner: { js: `#!${process.execPath}\n${common.banner.js}` },
});
fs.chmodSync(path.join(next, 'runts'), 0o755);
// The systemd cgroup driver (src/cgroups/index.ts requires it only for a
// container that uses it) and its D-Bus client, a worker thread's code
// (src/cgroups/systemd/bus.ts) with the D-Bus library in it: other commands
// load neither.
await build({
  ...common,
  entryPoints: {
    'systemd-driver': 'src/cgroups/systemd/driver.ts',
    'systemd-bus': 'src/cgroups/systemd/bus-worker.ts',
  },
  outdir: next,
  outExtension: { '.js': '.cjs' },
});
await build({
  ...common,
  entryPoints: { init: 'src/init/main.ts', 'setns-init': 'src/init/setns-main.ts' },
  outdir: next,
  outExtension: { '.js': '.cjs' },
  plugins: [roleBundlesExternal],
});

// esbuild turns each default or namespace import of a Node built-in
// (`import fs from 'node:fs'`) into its own __toESM(require("node:fs")): a
// fresh copy of every export for each importing module (24 copies of fs in
// `create`, ~9 ms of its start here). One copy per built-in serves them all
// (__runtsBuiltin, in the banner): the copies are read-only views.
for (const file of [path.join(next, 'runts'), ...listFiles(next).filter((f) => f.endsWith('.cjs'))]) {
  const text = fs.readFileSync(file, 'utf8');
  const shared = text.replace(/__toESM\(require\("(node:[a-z_/]+)"\)\)/g, '__runtsBuiltin("$1")');
  if (shared !== text) fs.writeFileSync(file, shared);
}

function listFiles(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

// Code caches, made by the node that runs runts (the shebang's): every
// function compiled eagerly (--no-lazy), with the flag set back before the
// cache is written, since V8 rejects a cache made under other flags. A child
// process checks that each cache is accepted.
const cacheScript = `
const fs = require('node:fs'), vm = require('node:vm'), v8 = require('node:v8');
const wrap = ${wrapCommonJs.toString()};
const [mode, ...files] = process.argv.slice(1);
for (const f of files) {
  const source = wrap(fs.readFileSync(f, 'utf8'));
  if (mode === 'make') {
    v8.setFlagsFromString('--no-lazy');
    const script = new vm.Script(source, { filename: f });
    v8.setFlagsFromString('--lazy');
    fs.writeFileSync(f + '.v8cache', script.createCachedData());
  } else {
    const script = new vm.Script(source, { filename: f, cachedData: fs.readFileSync(f + '.v8cache') });
    if (script.cachedDataRejected) { fs.rmSync(f + '.v8cache'); console.error('build: V8 rejected the code cache of ' + f + '; removed'); }
  }
}`;
const bundleFiles = roleBundles.map((b) => path.join(next, b.out));
execFileSync(process.execPath, ['-e', cacheScript, 'make', ...bundleFiles], { stdio: 'inherit' });
execFileSync(process.execPath, ['-e', cacheScript, 'check', ...bundleFiles], { stdio: 'inherit' });

/** The same text as wrapCommonJs in src/code-cache.ts: V8 caches the wrapped source. */
function wrapCommonJs(source) {
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n})`;
}

// The init's last step (src/native/runts-wait.c): a freestanding static
// program, so a created container waits for `start` in a few pages instead
// of a Node process. Optional: without a C compiler (or on another
// architecture) the init waits in Node, as it did before.
try {
  execFileSync(
    process.env.CC || 'cc',
    [
      '-Os',
      '-static',
      '-nostdlib',
      '-ffreestanding',
      '-fno-builtin',
      '-fno-stack-protector',
      '-fno-asynchronous-unwind-tables',
      '-no-pie',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-Wl,--gc-sections',
      '-Wl,--build-id=none',
      '-s',
      '-o',
      path.join(next, 'runts-wait'),
      path.join(root, 'src/native/runts-wait.c'),
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
} catch (e) {
  const why = e.code === 'ENOENT' ? 'no C compiler (cc)' : String(e.stderr ?? e.message).trim();
  console.error(`build: dist/runts-wait not built (${why}); a created container will wait in Node`);
}

const old = path.join(root, `.dist-old-${process.pid}`);
if (fs.existsSync(dist)) fs.renameSync(dist, old);
fs.renameSync(next, dist);
fs.rmSync(old, { recursive: true, force: true });
