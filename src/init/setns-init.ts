/**
 * A process started by `runts exec`, inside a running container (runc's
 * setns init: it joins namespaces where the container init makes them). The clone
 * chain put it in the container's user namespace (and time namespace) and
 * `runts exec` cloned it into the container's PID namespace and cgroups; it
 * joins the remaining namespaces itself, the mount namespace last (after it
 * the host's files are gone), then gets the process's terminal, rlimits,
 * credentials, umask, cwd and fds and execve()s the program (see
 * docs/process-model.md, "A process started by `runts exec`").
 *
 * Protocol with `runts exec` (src/process/spawn-exec.ts): `ready` once the
 * program is found, `error` on any failure (also after `ready`, when the
 * final steps or execve fail); a successful execve closes the socket.
 */
import fs from 'node:fs';
import { SyncChannel, type ExecBootstrap, type InitChannel } from '../process/protocol.js';
import { CLONE, setns, unshare } from '../linux/ns.js';
import { applyRlimits } from './rlimits.js';
import { sendFd } from '../linux/socket.js';
import { openPty, setWindowSize } from '../linux/pty.js';
import { prctl } from '../linux/prctl.js';
import { closeScriptFd } from '../linux/exeseal.js';
import { SPEC_VERSION } from '../version.js';
import { execProcess, namespaceFlag, prepareProcessExec } from './init.js';
import { enterCwd } from './cwd.js';
import {
  applyProcessAttributes,
  beforeReady,
  joinContainerKeyring,
  openProcfs,
  prepareSecurity,
  verifyCwd,
} from './security.js';

const PR_SET_DUMPABLE = 4;

export function runSetnsInit(): void {
  const channel: InitChannel = new SyncChannel(Number(process.env._RUNTS_SYNC_FD));
  delete process.env._RUNTS_SYNC_FD;
  try {
    // Nothing of the host in reach of the container's processes: not the
    // script's fd, and no /proc/<pid>/ file of ours while it runs the host's
    // Node in the container's PID namespace (CVE-2019-5736; execve resets it).
    closeScriptFd();
    prctl(PR_SET_DUMPABLE, 0, 0, 'not dumpable');
    channel.send({ type: 'booted' });
    const msg = channel.receive();
    if (msg?.type !== 'exec') throw new Error('exec: no bootstrap message from runts');
    setupAndExec(msg.bootstrap, channel);
  } catch (e) {
    try {
      channel.send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    } catch {}
    process.exit(1);
  }
}

function joinNamespaces(list: ExecBootstrap['joinNamespaces']): void {
  // The mount namespace last: after it the host's paths are gone.
  const ordered = [...list.filter((n) => n.type !== 'mount'), ...list.filter((n) => n.type === 'mount')];
  for (const ns of ordered) {
    if (ns.type === 'mount') unshare(CLONE.FS, 'CLONE_FS');
    setns(ns.fd, namespaceFlag(ns.type), `${ns.type} namespace`);
    fs.closeSync(ns.fd);
  }
}

function setupAndExec(b: ExecBootstrap, channel: InitChannel): void {
  const proc = b.process;
  // The host's /proc, libseccomp, the seccomp agent and the LSM checks:
  // before the mount namespace takes the host's paths away.
  const procfs = openProcfs();
  const security = prepareSecurity({
    procfs,
    proc,
    seccomp: b.seccomp,
    ociVersion: SPEC_VERSION,
    state: {
      ociVersion: SPEC_VERSION,
      id: b.id,
      status: 'running',
      bundle: b.bundle,
      annotations: b.annotations,
    },
  });

  joinNamespaces(b.joinNamespaces);
  // setns(mnt) made the container's root our root and cwd.
  if (b.joinKeyring) {
    joinContainerKeyring({
      id: b.id,
      procfs,
      userNs: false,
      selinuxLabel: proc.selinuxLabel,
      setPerms: false,
    });
  }

  let ptySlave: number | undefined;
  if (proc.terminal) {
    if (b.consoleSocketFd === undefined) throw new Error('terminal requested but no console socket');
    const pty = openPty('/dev/ptmx', proc.user?.uid ?? 0);
    if (proc.consoleSize) setWindowSize(pty.master, proc.consoleSize.height, proc.consoleSize.width);
    sendFd(b.consoleSocketFd, pty.master, pty.slavePath);
    fs.closeSync(pty.master);
    fs.closeSync(b.consoleSocketFd);
    ptySlave = pty.slave;
  }

  const rlimits = applyRlimits(proc.rlimits);
  // oom_score_adj (the container's: see withContainerDefaults), scheduler,
  // I/O priority and the container's personality.
  applyProcessAttributes(proc, b.personality ? { personality: b.personality } : undefined, procfs);

  // As in the init: before `ready`, with root's access (cwd.ts).
  const cwdEntered = enterCwd(proc.cwd);
  if (cwdEntered) verifyCwd();
  const exec = prepareProcessExec(proc);
  // The AppArmor exec label, as in the init: before `ready`.
  beforeReady(security);
  channel.send({ type: 'ready' });
  // The SELinux exec label, seccomp, credentials, cwd check, fds, execve.
  execProcess(proc, exec, { ptySlave, preserveFds: b.preserveFds, security, cwdEntered, rlimits });
}
