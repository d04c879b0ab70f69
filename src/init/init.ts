/**
 * The container's init: a fresh runts process started by the clone chain
 * inside the new namespaces (see docs/process-model.md). It builds
 * the container in the order the kernel needs, reports every failure to
 * `create` over the sync socket, waits on exec.fifo for `start`, and
 * execve()s the container's process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SyncChannel, type InitBootstrap, type InitChannel } from '../process/protocol.js';
import { envRecord, runHooks } from '../process/hooks.js';
import { CLONE, NAMESPACE_FLAGS, setns, unshare } from '../linux/ns.js';
import { setdomainname, sethostname } from '../linux/uts.js';
import { applyDeferredRlimits, applyRlimits, type DeferredRlimits } from './rlimits.js';
import { resetSignals } from '../linux/signal.js';
import { cloexecFrom, dup3, setCloexec } from '../linux/fd.js';
import { execve, execveFd, prepareExec, type PreparedExec } from '../linux/execve.js';
import { recvFdsUntilEof, sendFd } from '../linux/socket.js';
import { chroot } from '../linux/mount.js';
import { makeControllingTerminal, openPty, setWindowSize } from '../linux/pty.js';
import { RootfsBuilder, setupConsole } from './rootfs.js';
import { checkSysctls, namespaceId, writeSysctls } from './sysctl.js';
import { applyCredentials, homeFor, setgroupsAllowed } from './credentials.js';
import { PR, prctl } from '../linux/prctl.js';
import { closeScriptFd } from '../linux/exeseal.js';
import { SPEC_VERSION } from '../version.js';
import type { Process } from '../spec/types.gen.js';
import {
  applyProcessAttributes,
  beforeCredentials,
  beforeExec,
  beforeLimits,
  beforeReady,
  joinContainerKeyring,
  openProcfs,
  prepareSecurity,
  verifyCwd,
  type Security,
} from './security.js';
import { O_PATH } from '../linux/at-calls.js';
import { setLinkUp } from '../linux/netdev.js';
import { createCwd, enterCwd, enterCwdAsUser } from './cwd.js';
import { planWaitHandover, type WaitHandover } from './wait-handover.js';

/** The hook state `create` sent, with the config's annotations (sent once, in spec). */
function hookStateOf(b: InitBootstrap): Record<string, unknown> {
  return b.spec.annotations ? { ...b.hookState, annotations: b.spec.annotations } : b.hookState;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function runInit(): void {
  // Nothing of the host in reach of the container's processes: not the
  // script's fd, and no /proc/<pid>/ file of ours (not dumpable until execve).
  closeScriptFd();
  prctl(4 /* PR_SET_DUMPABLE */, 0, 0, 'not dumpable');
  // What runts inherited from its caller reaches neither the hooks nor the
  // container (runc's hooks get stdio only); the fds the init uses stay
  // open, and the preserved ones are let through again right before execve.
  cloexecFrom(3);
  const channel: InitChannel = new SyncChannel(Number(process.env._RUNTS_SYNC_FD));
  delete process.env._RUNTS_SYNC_FD;
  // Once `ready` is sent, create is gone: a failure can only be told on stderr.
  const progress = { reported: false };
  try {
    channel.send({ type: 'booted' });
    const msg = channel.receive();
    if (msg?.type !== 'bootstrap') throw new Error('init: no bootstrap message from runts');
    setupAndExec(msg.bootstrap, channel, () => (progress.reported = true));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!progress.reported) {
      try {
        channel.send({ type: 'error', message });
      } catch {}
    } else {
      process.stderr.write(`runts init: ${message}\n`);
    }
    process.exit(progress.reported ? 255 : 1);
  }
}

function parseCgroupFile(): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const i = line.indexOf(':');
    const j = line.indexOf(':', i + 1);
    if (i < 0 || j < 0) continue;
    // Named hierarchies (name=systemd) too: the cgroup mount binds them.
    m.set(line.slice(i + 1, j), line.slice(j + 1));
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
      setns(fd, namespaceFlag(ns.type), `${ns.type} namespace ${ns.path}`);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** CLONE_NEW* of a namespace type (the config's types are validated). */
export function namespaceFlag(type: string): number {
  const flag = NAMESPACE_FLAGS[type];
  if (flag === undefined) throw new Error(`unknown namespace type ${type}`);
  return flag;
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

function setupAndExec(b: InitBootstrap, channel: InitChannel, markReported: () => void): void {
  const spec = b.spec;
  const proc = spec.process;
  if (!proc) throw new Error('init: the config has no process');
  const nsTypes = new Set((spec.linux?.namespaces ?? []).map((n) => n.type));

  // The host's /proc, libseccomp, the seccomp agent and the LSM checks:
  // before anything can take the host's paths away.
  const procfs = openProcfs();
  const security = prepareSecurity({
    procfs,
    proc,
    seccomp: spec.linux?.seccomp,
    ociVersion: SPEC_VERSION,
    state: {
      ociVersion: SPEC_VERSION,
      id: b.id,
      status: 'creating',
      bundle: b.bundle,
      annotations: spec.annotations,
    },
  });

  // Only a network namespace joined by path can turn out to be the runtime's
  // own: a new one (CLONE_NEWNET) is ours already, and never the host's.
  const joinsNetns = (spec.linux?.namespaces ?? []).some((n) => n.type === 'network' && n.path);
  const runtimeNetns = spec.linux?.sysctl && joinsNetns ? namespaceId('/proc/self/ns/net') : undefined;
  joinNamespaces(b.joinNamespaces);
  // A network namespace of our own gets its loopback up, as runc's
  // "loopback" network: 127.0.0.1 works inside with no other network.
  if (nsTypes.has('network') && !joinsNetns) {
    try {
      setLinkUp('lo');
    } catch (e) {
      throw new Error(`unable to bring up the loopback interface: ${(e as Error).message}`, { cause: e });
    }
  }
  if (spec.linux?.sysctl) {
    checkSysctls(spec.linux.sysctl, {
      namespaces: nsTypes,
      netns: namespaceId('/proc/thread-self/ns/net'),
      runtimeNetns,
    });
  }
  if (!b.noNewKeyring) {
    joinContainerKeyring({
      id: b.id,
      procfs,
      userNs: nsTypes.has('user'),
      selinuxLabel: proc.selinuxLabel,
      setPerms: true,
    });
  }
  const cgroupPaths = parseCgroupFile();
  if (b.unshareCgroupNs) unshare(CLONE.NEWCGROUP, 'cgroup namespace');

  // Everything on the host side must be opened before pivot_root.
  const execFifo = b.execFifoFd ?? fs.openSync(b.execFifoPath, O_PATH);
  // Bind sources create opened for us in our mount namespace (process/mount-sources.ts).
  const bindSourceFds: Record<string, number> = {};
  if (b.bindSourcesFd !== undefined) {
    for (const { fd, payload } of recvFdsUntilEof(b.bindSourcesFd)) bindSourceFds[payload] = fd;
    fs.closeSync(b.bindSourcesFd);
  }

  const inUserNs = nsTypes.has('user');
  const rootfs = new RootfsBuilder({
    spec,
    rootfs: b.rootfs,
    bundle: b.bundle,
    inUserNs,
    cgroupPaths,
    cgroupNs: nsTypes.has('cgroup'),
    mountFds: b.mountFds,
    bindSourceFds,
  });
  const hasMountNs = nsTypes.has('mount');
  if (hasMountNs) rootfs.prepare();
  // Without a mount namespace the mounts are made in the runtime's own
  // namespace, as runc does (`delete` unmounts them), and the root is a chroot.
  rootfs.mountAll();
  rootfs.setupDev();

  channel.send({ type: 'run-hooks' });
  const reply = channel.receive();
  if (reply?.type !== 'hooks-done') throw new Error('init: runts went away during hooks');
  // As runc's init: the container process's environment, from the rootfs (still a host path here).
  runHooks('createContainer', spec.hooks?.createContainer, hookStateOf(b), {
    env: envRecord(proc.env ?? []),
    cwd: b.rootfs,
  });

  if (hasMountNs) rootfs.enterRoot(b.noPivot);
  else {
    chroot(b.rootfs);
    process.chdir('/');
  }

  // Inside the container's root, before it is made read-only (as runc).
  createCwd(proc.cwd);

  let ptySlave: number | undefined;
  if (proc.terminal) {
    const pty = openPty('/dev/ptmx', proc.user?.uid ?? 0);
    if (proc.consoleSize) setWindowSize(pty.master, proc.consoleSize.height, proc.consoleSize.width);
    if (b.consoleSocketFd === undefined) throw new Error('terminal requested but no console socket');
    sendFd(b.consoleSocketFd, pty.master, pty.slavePath);
    fs.closeSync(pty.master);
    fs.closeSync(b.consoleSocketFd);
    if (hasMountNs) setupConsole('/', pty.slavePath);
    ptySlave = pty.slave;
    // As runc: the pty is our stdio from here on, so we no longer hold
    // create's stdout/stderr (containerd's shim reads them to EOF before it
    // goes on to start).
    for (const fd of [0, 1, 2]) dup3(pty.slave, fd);
  }
  if (nsTypes.has('uts')) {
    if (spec.hostname) sethostname(spec.hostname);
    if (spec.domainname) setdomainname(spec.domainname);
  }
  // Before the read-only and masked paths (/proc/sys is one), as runc does.
  writeSysctls(spec.linux?.sysctl, procfs);
  if (hasMountNs) rootfs.finish();
  const rlimits = applyRlimits(proc.rlimits);
  applyProcessAttributes(proc, spec.linux, procfs);

  // Before `ready`, so that a cwd that cannot be entered fails create (runc's
  // init does it before create returns too).
  const cwdEntered = enterCwd(proc.cwd);
  if (cwdEntered) verifyCwd();
  const exec = prepareProcessExec(proc);
  // The AppArmor exec label, as runc: before `ready`, so that a profile the
  // kernel refuses fails create, which then removes the container.
  beforeReady(security);
  // Decided (and its seccomp memfd made) before `ready`: a failure still reaches create.
  const handover = planWaitHandover({
    programFd: b.waitProgramFd,
    fifoFd: execFifo,
    startContainerHooks: spec.hooks?.startContainer,
    security,
    seccompConfig: spec.linux?.seccomp,
    path: exec.path,
    args: proc.args ?? [],
    env: exec.env,
  });

  // The container outlives runts, as runc's: no death signal from here on
  // (the chain set it). Instead, until create has recorded the container,
  // its death is an EOF here, and the init ends.
  prctl(PR.SET_PDEATHSIG, 0, 0, 'no parent death signal');
  channel.send({ type: 'ready' });
  markReported();
  if (channel.receive()?.type !== 'created')
    throw new Error('runts create went away before the container was recorded');
  if (handover) {
    // runts-wait waits for `start` and execs the program (wait-handover.ts).
    channel.close();
    execProcess(proc, exec, {
      ptySlave,
      preserveFds: b.preserveFds,
      security,
      cwdEntered,
      rlimits,
      handover,
    });
  }

  // Block until `start` opens the fifo for reading. The startContainer
  // hooks run before the byte that lets `start` go on, so they always
  // finish before its poststart hooks (state "created", as runc gives).
  const fifo = fs.openSync(`/proc/self/fd/${execFifo}`, fs.constants.O_WRONLY);
  fs.closeSync(execFifo);
  channel.close();
  // As runc's init: the process's environment (HOME filled in) and working directory.
  runHooks(
    'startContainer',
    spec.hooks?.startContainer,
    { ...hookStateOf(b), status: 'created', pid: process.pid },
    { env: envRecord(exec.env), cwd: proc.cwd },
  );
  fs.writeSync(fifo, '0');
  fs.closeSync(fifo);

  execProcess(proc, exec, { ptySlave, preserveFds: b.preserveFds, security, cwdEntered, rlimits });
}

/**
 * The container's program and its environment (HOME from the container's
 * /etc/passwd when unset), resolved inside the container's root. Shared
 * with `runts exec` (setns-init.ts).
 */
export function prepareProcessExec(proc: Process): PreparedExec & { env: string[] } {
  const user = proc.user ?? { uid: 0, gid: 0 };
  const env: string[] = [...(proc.env ?? [])];
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${homeFor(user.uid)}`);
  const envPath = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  const args = proc.args ?? [];
  const [file] = args;
  if (file === undefined) throw new Error('args must not be empty');
  return { ...prepareExec(lookPath(file, envPath), args, env), env };
}

/**
 * The last steps before the container's program, shared by the init and
 * `runts exec` (setns-init.ts): credentials, umask, cwd (when root could
 * not enter it: see cwd.ts), the pty as stdio,
 * nothing but stdio and the preserved fds left open, execve. Returns only
 * by throwing.
 */
export function execProcess(
  proc: Process,
  exec: PreparedExec,
  o: {
    ptySlave?: number | undefined;
    preserveFds: number;
    security?: Security;
    cwdEntered?: boolean;
    rlimits: DeferredRlimits;
    /** Exec runts-wait, which waits for `start` and then execs the program. */
    handover?: WaitHandover | undefined;
  },
): never {
  const user = proc.user ?? { uid: 0, gid: 0 };
  // Nothing but stdio and the preserved fds reaches the container. Marked
  // first: close_range is not in every seccomp profile (runtime-tools'
  // default has none), and the filter may be in force from the next line on.
  cloexecFrom(3 + o.preserveFds);
  const groupsAllowed = setgroupsAllowed();
  // The program outlives runts (`runts exec` too): no death signal.
  prctl(PR.SET_PDEATHSIG, 0, 0, 'no parent death signal');
  if (o.security) beforeLimits(o.security);
  // No file is opened from here on: RLIMIT_NOFILE may be below the number
  // of fds Node holds. Before seccomp, which may not allow prlimit64.
  applyDeferredRlimits(o.rlimits);
  if (o.security) beforeCredentials(o.security);
  applyCredentials(user, proc.capabilities, proc.noNewPrivileges === true, groupsAllowed);
  process.umask(user.umask ?? 0o022);
  // Unless entered before the credentials changed (cwd.ts).
  if (!o.cwdEntered) enterCwdAsUser(proc.cwd);
  verifyCwd();

  if (o.ptySlave !== undefined) {
    makeControllingTerminal(o.ptySlave);
    for (const fd of [0, 1, 2]) dup3(o.ptySlave, fd);
    if (o.ptySlave > 2) fs.closeSync(o.ptySlave);
  }
  for (let fd = 0; fd < 3 + o.preserveFds; fd++) {
    try {
      setCloexec(fd, false);
    } catch {}
  }
  const h = o.handover;
  if (h) {
    setCloexec(h.fifoFd, false);
    if (h.bpfFd >= 0) setCloexec(h.bpfFd, false);
  } else if (o.security) beforeExec(o.security);
  // Node ignores SIGPIPE and SIGXFSZ, and ignored signals survive execve.
  resetSignals();
  o.rlimits.last();
  if (h) execveFd(h.programFd, h.exec, 'runts-wait');
  execve(exec);
}
