/**
 * The container's init: a fresh runts process started by the clone chain
 * inside the new namespaces (see shared/notes/process-model.md). It builds
 * the container in the order the kernel needs, reports every failure to
 * `create` over the sync socket, waits on exec.fifo for `start`, and
 * execve()s the container's process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SyncChannel, type InitBootstrap, type ParentMessage } from '../process/protocol.js';
import { runHooks } from '../container/hooks.js';
import { CLONE, NAMESPACE_FLAGS, setns, unshare } from '../linux/ns.js';
import { setdomainname, sethostname } from '../linux/uts.js';
import { setrlimit } from '../linux/rlimit.js';
import { cloexecFrom, dup3, setCloexec } from '../linux/fd.js';
import { execve, prepareExec } from '../linux/exec.js';
import { sendFd } from '../linux/socket.js';
import { makeControllingTerminal, openPty, setWindowSize } from '../linux/pty.js';
import { enterRoot, finishRoot, mountAll, prepareRoot, setupConsole, setupDev, type RootfsOptions } from './rootfs.js';
import { applyCredentials, homeFor } from './credentials.js';

const O_PATH = 0o10000000;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function runInit(): void {
  const channel = new SyncChannel(Number(process.env._RUNTS_SYNC_FD));
  delete process.env._RUNTS_SYNC_FD;
  let reported = false;
  try {
    const msg = channel.receive<ParentMessage>();
    if (msg?.type !== 'bootstrap') throw new Error('init: no bootstrap message from runts');
    setupAndExec(msg.bootstrap, channel, () => (reported = true));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!reported) {
      try {
        channel.send({ type: 'error', message });
      } catch {}
    } else {
      process.stderr.write(`runts init: ${message}\n`);
    }
    process.exit(reported ? 255 : 1);
  }
}

function parseCgroupFile(): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const i = line.indexOf(':');
    const j = line.indexOf(':', i + 1);
    if (i < 0 || j < 0) continue;
    const controllers = line.slice(i + 1, j).replace(/^name=/, 'name=');
    if (controllers.startsWith('name=')) continue;
    m.set(controllers, line.slice(j + 1));
  }
  return m;
}

function joinNamespaces(list: InitBootstrap['joinNamespaces']): void {
  // The mount namespace last: after it the host's paths are gone.
  const ordered = [...list.filter((n) => n.type !== 'mount'), ...list.filter((n) => n.type === 'mount')];
  for (const ns of ordered) {
    const fd = fs.openSync(ns.path, fs.constants.O_RDONLY);
    try {
      if (ns.type === 'mount') unshare(CLONE.FS, 'CLONE_FS');
      setns(fd, NAMESPACE_FLAGS[ns.type], `${ns.type} namespace ${ns.path}`);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** The container's program, found the way runc's init finds it. */
function lookPath(file: string, envPath: string): string {
  const check = (p: string): boolean => {
    try {
      const st = fs.statSync(p);
      return st.isFile() && (st.mode & 0o111) !== 0;
    } catch {
      return false;
    }
  };
  if (file.includes('/')) {
    if (check(file)) return file;
    if (fs.existsSync(file)) throw new Error(`exec: "${file}": permission denied`);
    throw new Error(`exec: "${file}": stat ${file}: no such file or directory`);
  }
  for (const dir of envPath.split(':')) {
    const p = path.join(dir || '.', file);
    if (check(p)) return p;
  }
  throw new Error(`exec: "${file}": executable file not found in $PATH`);
}

function setupAndExec(b: InitBootstrap, channel: SyncChannel, markReported: () => void): void {
  const spec = b.spec;
  const proc = spec.process ?? {};
  const nsTypes = new Set<string>((spec.linux?.namespaces ?? []).map((n: { type: string }) => n.type));

  joinNamespaces(b.joinNamespaces);
  const cgroupPaths = parseCgroupFile();
  if (b.unshareCgroupNs) unshare(CLONE.NEWCGROUP, 'cgroup namespace');

  // Everything on the host side must be opened before pivot_root.
  const execFifo = fs.openSync(b.execFifoPath, O_PATH);

  const inUserNs = nsTypes.has('user');
  const rootOpts: RootfsOptions = { spec, rootfs: b.rootfs, inUserNs, cgroupPaths, cgroupNs: nsTypes.has('cgroup') };
  const hasMountNs = nsTypes.has('mount');
  if (hasMountNs) {
    prepareRoot(rootOpts);
    mountAll(rootOpts);
    setupDev(rootOpts);
  }

  channel.send({ type: 'run-hooks' });
  const reply = channel.receive<ParentMessage>();
  if (reply?.type !== 'hooks-done') throw new Error('init: runts went away during hooks');
  runHooks('createContainer', spec.hooks?.createContainer, b.hookState);

  if (hasMountNs) enterRoot(rootOpts, b.noPivot);
  else {
    fs.mkdirSync(b.rootfs, { recursive: true });
    process.chdir(b.rootfs);
  }

  let ptySlave: number | undefined;
  if (proc.terminal) {
    const pty = openPty('/dev/ptmx');
    if (proc.consoleSize) setWindowSize(pty.master, proc.consoleSize.height, proc.consoleSize.width);
    if (b.consoleSocketFd === undefined) throw new Error('terminal requested but no console socket');
    sendFd(b.consoleSocketFd, pty.master, pty.slavePath);
    fs.closeSync(pty.master);
    fs.closeSync(b.consoleSocketFd);
    if (hasMountNs) setupConsole('/', pty.slavePath);
    ptySlave = pty.slave;
  }
  if (hasMountNs) finishRoot(spec);

  if (nsTypes.has('uts')) {
    if (spec.hostname) sethostname(spec.hostname);
    if (spec.domainname) setdomainname(spec.domainname);
  }
  for (const [key, value] of Object.entries<string>(spec.linux?.sysctl ?? {})) {
    fs.writeFileSync(path.join('/proc/sys', key.replace(/\./g, '/')), value);
  }
  for (const r of proc.rlimits ?? []) setrlimit(r.type, BigInt(r.soft), BigInt(r.hard));
  if (proc.oomScoreAdj !== undefined) fs.writeFileSync('/proc/self/oom_score_adj', String(proc.oomScoreAdj));

  const user = proc.user ?? { uid: 0, gid: 0 };
  const env: string[] = [...(proc.env ?? [])];
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${homeFor(user.uid)}`);
  const envPath = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  const args: string[] = proc.args ?? [];
  const exec = prepareExec(lookPath(args[0], envPath), args, env);

  channel.send({ type: 'ready' });
  markReported();

  // Block until `start` opens the fifo for reading.
  const fifo = fs.openSync(`/proc/self/fd/${execFifo}`, fs.constants.O_WRONLY);
  fs.writeSync(fifo, '0');
  fs.closeSync(fifo);
  fs.closeSync(execFifo);
  channel.close();

  runHooks('startContainer', spec.hooks?.startContainer, { ...b.hookState, status: 'running' });

  applyCredentials(user, proc.capabilities, proc.noNewPrivileges === true);
  process.umask(user.umask ?? 0o022);
  process.chdir(proc.cwd ?? '/');

  if (ptySlave !== undefined) {
    makeControllingTerminal(ptySlave);
    for (const fd of [0, 1, 2]) dup3(ptySlave, fd);
    if (ptySlave > 2) fs.closeSync(ptySlave);
  }
  // Nothing but stdio and the preserved fds reaches the container.
  cloexecFrom(3 + b.preserveFds);
  for (let fd = 0; fd < 3 + b.preserveFds; fd++) {
    try {
      setCloexec(fd, false);
    } catch {}
  }
  execve(exec);
}
