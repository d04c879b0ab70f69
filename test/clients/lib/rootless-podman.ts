/**
 * Rootless podman for the client tests: an ordinary user made for the suite
 * (test/rootless-user.ts: useradd, one range of /etc/subuid and
 * /etc/subgid, both removed after), whose HOME, XDG_RUNTIME_DIR (0700),
 * containers.conf, storage.conf and podman storage are in the suite's temp
 * dir. podman runs as that user through `setpriv --init-groups` with only
 * the environment given here; it makes its own user namespace (root = the
 * user, 1..65536 = the subordinate range, through newuidmap/newgidmap) and
 * runs conmon and the runtime in it, as uid 0 there.
 *
 * The runtimes are wrappers (as lib/common.ts's) the user can run and whose
 * log it can write. Storage: the kernel's overlay when podman can use it
 * rootless (native overlay in a user namespace, Linux 5.11+), else vfs.
 * The teardown removes the containers and the storage as the user, ends the
 * user's processes (podman's pause process) by PID, and reports anything
 * else left: processes, mounts, cgroups, runtime state.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  ROOT_DIR,
  cgroupRoots,
  mountsUnder,
  run,
  stopPids,
  unmountUnder,
  type Result,
  type RunOpts,
  type Runtime,
} from './common.js';
import type { TestUser } from '../../rootless-user.js';

export interface RootlessPodman {
  user: TestUser;
  dir: string;
  home: string;
  xdg: string;
  /** The storage driver in use: overlay or vfs. */
  driver: string;
  env: Record<string, string>;
  /** `podman` and its global flags (storage, cgroup manager, events), without --runtime. */
  argv: string[];
  /** Run `argv` as the user, with the suite's environment, in its HOME. */
  as(argv: string[], opts?: RunOpts): Result;
  /** podman (with --runtime rt.wrapper) as the user. */
  podman(rt: Runtime, args: string[], opts?: RunOpts): Result;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Run `argv` as `user`: its uid, gid and groups (setpriv --init-groups), exactly `env`. */
export function runAsUser(
  user: TestUser,
  argv: string[],
  env: Record<string, string>,
  opts: RunOpts = {},
): Result {
  const envArgs = Object.entries({ PATH, ...env }).map(([k, v]) => `${k}=${v}`);
  return run(
    'setpriv',
    [
      '--reuid',
      String(user.uid),
      '--regid',
      String(user.gid),
      '--init-groups',
      '--',
      'env',
      '-i',
      ...envArgs,
      ...argv,
    ],
    { timeout: 120_000, ...opts, env: { PATH } },
  );
}

/** True when `user` may read `file` (and so pass through every directory above it). */
export function reachableBy(user: TestUser, file: string): boolean {
  return runAsUser(user, ['test', '-r', file], {}).status === 0;
}

/**
 * A wrapper of `real` the user can run, in `dir`/bin, logging each call
 * (as lib/common.ts's setupRuntime does) to a log the user may write.
 */
export function wrapRuntime(dir: string, real: string, kind: string): Runtime {
  const binDir = path.join(dir, 'bin');
  fs.mkdirSync(binDir, { recursive: true, mode: 0o755 });
  const log = path.join(dir, 'runtime-calls.log');
  fs.writeFileSync(log, '');
  const script = `#!/bin/sh\nprintf '%s [%s] %s\\n' "$(date +%T.%N)" "$$" "$*" >> '${log}'\nexec '${real}' "$@"\n`;
  const wrapper = path.join(binDir, kind);
  fs.writeFileSync(wrapper, script, { mode: 0o755 });
  return { kind, isRunts: kind === 'runts', real, wrapper, binDir, log };
}

/**
 * Make `rt` (a Runtime of lib/common.ts) usable by `user`: its call log
 * writable, and, when the snapshot's node_modules link points where the user
 * cannot go (a clone under /root), the native modules runts loads copied in.
 */
export function shareRuntime(rt: Runtime, user: TestUser): void {
  fs.chownSync(rt.log, user.uid, user.gid);
  if (!rt.isRunts) return;
  const modules = path.join(path.dirname(path.dirname(rt.real)), 'node_modules');
  if (!fs.lstatSync(modules, { throwIfNoEntry: false })?.isSymbolicLink()) return;
  if (reachableBy(user, path.join(modules, 'ffi-rs', 'package.json'))) return;
  fs.rmSync(modules);
  fs.mkdirSync(modules);
  for (const m of ['ffi-rs', '@yuuang']) {
    const from = path.join(ROOT_DIR, 'node_modules', m);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(modules, m), { recursive: true });
  }
  spawnSync('chmod', ['-R', 'a+rX', path.dirname(modules)]);
}

/** Make the user's directories and configuration in `dir`, and pick the storage driver. */
export function setupRootlessPodman(dir: string, user: TestUser): RootlessPodman {
  const home = path.join(dir, 'home');
  const xdg = path.join(dir, 'xdg');
  const p = path.join(dir, 'p');
  for (const d of [home, p, path.join(p, 'tmp'), path.join(p, 'volumes'), path.join(p, 'cni')])
    fs.mkdirSync(d, { recursive: true });
  fs.mkdirSync(xdg, { mode: 0o700 });
  fs.chmodSync(xdg, 0o700);
  const conf = path.join(p, 'containers.conf');
  fs.writeFileSync(
    conf,
    `[containers]
init_path = "/usr/bin/catatonit"
netns = "none"
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${p}/events.log"
tmp_dir = "${p}/tmp"
volume_path = "${p}/volumes"
conmon_path = ["/usr/bin/conmon"]

[network]
network_backend = "cni"
network_config_dir = "${p}/cni"
`,
  );
  fs.writeFileSync(path.join(p, 'registries.conf'), 'unqualified-search-registries = []\n');
  const env: Record<string, string> = {
    HOME: home,
    USER: user.name,
    LOGNAME: user.name,
    XDG_RUNTIME_DIR: xdg,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    CONTAINERS_CONF: conf,
    CONTAINERS_REGISTRIES_CONF: path.join(p, 'registries.conf'),
  };
  const globals = (driver: string, root: string) => [
    'podman',
    '--root',
    root,
    '--runroot',
    path.join(p, 'runroot'),
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
    '--storage-driver',
    driver,
  ];
  const as = (argv: string[], opts: RunOpts = {}) => runAsUser(user, argv, env, { cwd: home, ...opts });

  const writeStorageConf = (driver: string) => {
    const storage = path.join(p, 'storage.conf');
    fs.writeFileSync(
      storage,
      `[storage]\ndriver = "${driver}"\nrunroot = "${p}/runroot"\ngraphroot = "${p}/root"\n`,
    );
    env.CONTAINERS_STORAGE_CONF = storage;
  };
  spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, home, xdg, p]);

  // overlay when podman, rootless, can mount it here; a probe store, removed after.
  const probeRoot = path.join(p, 'probe');
  writeStorageConf('overlay');
  spawnSync('chown', [`${user.uid}:${user.gid}`, path.join(p, 'storage.conf')]);
  const probe = as([...globals('overlay', probeRoot), 'info', '--format', '{{.Store.GraphDriverName}}']);
  const driver = probe.status === 0 && probe.stdout.trim() === 'overlay' ? 'overlay' : 'vfs';
  fs.rmSync(probeRoot, { recursive: true, force: true });
  if (driver !== 'overlay') writeStorageConf(driver);

  const argv = globals(driver, path.join(p, 'root'));
  return {
    user,
    dir,
    home,
    xdg,
    driver,
    env,
    argv,
    as,
    podman: (rt, args, opts = {}) => as([...argv, '--runtime', rt.wrapper, ...args], opts),
  };
}

/** The user's live processes (zombies, waiting for their reaper, are not counted): pid and command line. */
export function userProcesses(user: TestUser): Array<{ pid: number; args: string }> {
  const ps = spawnSync('ps', ['-u', String(user.uid), '-o', 'pid=,stat=,args='], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .map((l) => l.trim().match(/^(\d+)\s+(\S+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null && !m[2]?.startsWith('Z'))
    .map((m) => ({ pid: Number(m[1]), args: m[3] ?? '' }));
}

/** Cgroup directories, to `depth` levels, whose name mentions libpod or the user. */
export function podmanCgroups(user: TestUser, depth = 3): string[] {
  const out: string[] = [];
  const walk = (d: string, level: number) => {
    if (level > depth) return;
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {}
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const full = path.join(d, e.name);
      if (e.name.includes('libpod') || e.name.includes(user.name) || e.name.includes(`user-${user.uid}`))
        out.push(full);
      walk(full, level + 1);
    }
  };
  for (const r of cgroupRoots()) walk(r, 1);
  return out.sort();
}

/**
 * Remove what podman made: the containers (reported when some were left),
 * the storage (as the user, in its user namespace: files of subordinate
 * ids), the pause process and any process of the user (by PID), mounts
 * under `dir`. Returns what was found left behind; `dir` itself is
 * removed by the caller.
 */
export async function teardownRootlessPodman(pm: RootlessPodman, cgroupsBefore: string[]): Promise<string[]> {
  const problems: string[] = [];
  const left = pm
    .as([...pm.argv, 'ps', '-aq'])
    .stdout.split('\n')
    .filter(Boolean);
  if (left.length) {
    problems.push(`containers left: ${left.join(',')}`);
    pm.as([...pm.argv, 'rm', '-af', '-t', '0']);
  }
  const reset = pm.as([...pm.argv, 'system', 'reset', '-f']);
  if (reset.status !== 0) problems.push(`podman system reset: ${reset.stderr.trim()}`);
  for (const rtDir of ['runts', 'runc']) {
    const state = path.join(pm.xdg, rtDir);
    const ids = fs.existsSync(state) ? fs.readdirSync(state) : [];
    if (ids.length) problems.push(`${rtDir} state left in ${state}: ${ids.join(',')}`);
  }
  // The pause process keeps podman's user and mount namespaces: expected, ended here.
  let pausePid = 0;
  try {
    pausePid = Number(fs.readFileSync(path.join(pm.dir, 'p', 'tmp', 'pause.pid'), 'utf8').trim());
  } catch {}
  const procs = userProcesses(pm.user);
  for (const p of procs)
    if (p.pid !== pausePid && !p.args.startsWith('catatonit -P'))
      problems.push(`process left: ${p.pid} ${p.args}`);
  await stopPids(procs.map((p) => p.pid));
  const still = userProcesses(pm.user);
  if (still.length) problems.push(`processes that would not end: ${JSON.stringify(still)}`);
  const mounts = mountsUnder(pm.dir);
  if (mounts.length) problems.push(`mounts left: ${mounts.join(', ')}`);
  unmountUnder(pm.dir);
  const cgroups = podmanCgroups(pm.user).filter((c) => !cgroupsBefore.includes(c));
  if (cgroups.length) problems.push(`cgroups made: ${cgroups.join(', ')}`);
  return problems;
}
