/**
 * Minimal container root filesystems and bundles for tests and the bench,
 * built from Debian's statically linked busybox (`apt-get install
 * busybox-static`, which installs /bin/busybox).
 *
 *   makeBusyboxRootfs(dir)  dir/bin/busybox + a symlink per applet, the usual
 *                           empty dirs, and /etc/passwd, /etc/group with root
 *                           and nobody (65534).
 *   makeBundle(dir, patch)  dir/rootfs as above and dir/config.json from
 *                           `dist/runts spec` (so run `npm run build` first),
 *                           edited by `patch`.
 *
 * Only node built-ins, so plain node scripts can use it through tsx too.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUSYBOX = '/bin/busybox';
const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNTS = path.join(ROOT_DIR, 'dist', 'runts');

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface BundleOptions {
  /** Generate the config with `runts spec --rootless`. */
  rootless?: boolean;
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\nnogroup:x:65534:\n';

let appletCache: string[] | undefined;

/** True when the ELF file has a PT_INTERP program header (needs ld.so and libc). */
function isDynamicElf(file: string): boolean {
  const buf = fs.readFileSync(file);
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) return false; // not ELF: let it fail later
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const phoff = is64 ? Number(le ? buf.readBigUInt64LE(32) : buf.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > buf.length) break;
    if (u32(off) === 3 /* PT_INTERP */) return true;
  }
  return false;
}

function busyboxApplets(): string[] {
  if (appletCache) return appletCache;
  const real = (() => {
    try {
      return fs.realpathSync(BUSYBOX);
    } catch {
      throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static`);
    }
  })();
  if (isDynamicElf(real)) {
    throw new Error(
      `${BUSYBOX} is dynamically linked (the busybox package?): apt-get install busybox-static`,
    );
  }
  const out = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' });
  appletCache = out
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s && !s.includes('/') && s !== 'busybox');
  if (!appletCache.includes('sh')) throw new Error(`${BUSYBOX} --list has no sh applet`);
  return appletCache;
}

/**
 * Create a minimal rootfs at `dir` (created if needed; existing files are
 * replaced): bin/busybox, bin/<applet> -> busybox for every applet, the dirs
 * proc, sys, dev, tmp, etc, root, and etc/passwd, etc/group.
 */
export function makeBusyboxRootfs(dir: string): void {
  const applets = busyboxApplets();
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const target = path.join(bin, 'busybox');
  fs.rmSync(target, { force: true });
  fs.copyFileSync(fs.realpathSync(BUSYBOX), target);
  fs.chmodSync(target, 0o755);
  for (const name of applets) {
    const link = path.join(bin, name);
    fs.rmSync(link, { force: true });
    fs.symlinkSync('busybox', link);
  }
  for (const [d, mode] of [
    ['proc', 0o555],
    ['sys', 0o555],
    ['dev', 0o755],
    ['tmp', 0o1777],
    ['etc', 0o755],
    ['root', 0o700],
  ] as const) {
    const p = path.join(dir, d);
    fs.mkdirSync(p, { recursive: true });
    fs.chmodSync(p, mode); // mkdir's mode is masked by the umask
  }
  fs.writeFileSync(path.join(dir, 'etc', 'passwd'), PASSWD, { mode: 0o644 });
  fs.writeFileSync(path.join(dir, 'etc', 'group'), GROUP, { mode: 0o644 });
}

/**
 * Create a bundle at `dir`: dir/rootfs (makeBusyboxRootfs) and dir/config.json
 * as written by `dist/runts spec` (with --rootless if asked), then parsed,
 * passed to `configPatch` to edit in place, and written back. Note the spec
 * defaults: process.terminal is true and args is ["sh"]; patch them for
 * non-interactive use. Returns the final config.
 */
export function makeBundle(
  dir: string,
  configPatch?: (cfg: Config) => void,
  opts: BundleOptions = {},
): Config {
  fs.mkdirSync(dir, { recursive: true });
  makeBusyboxRootfs(path.join(dir, 'rootfs'));
  const file = path.join(dir, 'config.json');
  fs.rmSync(file, { force: true }); // `spec` refuses to overwrite
  const args = ['spec', ...(opts.rootless ? ['--rootless'] : [])];
  try {
    execFileSync(RUNTS, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const detail = err.stderr?.toString().trim() || err.message;
    throw new Error(
      `makeBundle: \`${RUNTS} ${args.join(' ')}\` failed in ${dir} (run \`npm run build\` first?): ${detail}`,
      { cause: e },
    );
  }
  const cfg: Config = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (configPatch) {
    configPatch(cfg);
    fs.writeFileSync(file, JSON.stringify(cfg, null, '\t') + '\n');
  }
  return cfg;
}
