/**
 * `create`: load the bundle, start the init in its namespaces, run the
 * prestart and createRuntime hooks when the init asks, and record the
 * container once the init waits on exec.fifo. Any failure removes the init,
 * its state directory and everything else it made.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { loadBundleConfig } from '../spec/load.js';
import type { LinuxIDMapping, Spec } from '../spec/types.gen.js';
import { containerConfig } from '../spec/convert.js';
import { mkfifo, writeFileAtomic } from '../linux/fs.js';
import { ptraceInReach, reexecSealed } from '../process/reexec.js';
import { SyscallError } from '../linux/errno.js';
import { NAMESPACE_FLAGS, CLONE, namespaceTypeOf } from '../linux/ns.js';
import { connectUnix, socketPair } from '../linux/socket.js';
import { killAndReap, waitPid } from '../linux/wait.js';
import { spawnInit, waitProgramFd } from '../process/spawn-init.js';
import {
  bindSourcesToOpen,
  prepareIdmappedMounts,
  sendBindSources,
  type PreparedMounts,
} from '../process/mount-sources.js';
import { checkCapabilities } from '../process/capabilities.js';
import type { ParentChannel } from '../process/protocol.js';
import { hostHooks, runHooks } from '../process/hooks.js';
import { EXEC_FIFO, type ContainerRecord, type CreatingIntent, type StateStore } from './state-store.js';
import { pausePoint } from '../test-points.js';
import { processStartTime } from './status.js';
import { validateContainerId } from './id.js';
import { managerForSpec, removeCgroupDirs, type Manager } from '../cgroups/index.js';
import { checkRootlessConfig } from './rootless.js';
import { O_PATH } from '../linux/at-calls.js';
import { debug, warn } from '../output.js';

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string | undefined;
  consoleSocket?: string | undefined;
  /**
   * An already connected socket to send the pty master to (foreground `run`
   * relays the pty itself). Closed by the caller.
   */
  consoleSocketFd?: number | undefined;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  /** Where warnings go (the --log file, or stderr). */
  warn?: ((msg: string) => void) | undefined;
  /** The bundle's config.json already loaded by the caller (`run`): read and checked once. */
  spec?: Spec | undefined;
  /** --systemd-cgroup: the cgroup is a transient systemd unit. */
  systemdCgroup?: boolean | undefined;
  /** Cgroup permission errors tolerated (runc's rootless cgroup manager). */
  rootlessCgroups?: boolean | undefined;
}

export interface Created {
  record: ContainerRecord;
  pid: number;
}

function hostRootId(maps: LinuxIDMapping[] | undefined): number {
  const m = maps?.find((x) => x.containerID === 0);
  return m ? m.hostID : 0;
}

/** Hook state: the runtime-spec state document. */
export function hookState(
  rec: Pick<ContainerRecord, 'ociVersion' | 'id' | 'bundle' | 'annotations'>,
  status: string,
  pid: number,
) {
  const s: Record<string, unknown> = {
    ociVersion: rec.ociVersion,
    id: rec.id,
    status,
    pid,
    bundle: rec.bundle,
  };
  if (rec.annotations) s.annotations = rec.annotations;
  return s;
}

/**
 * A namespace given by path must be one of the type it is given as: the
 * user and time namespaces are joined by the clone chain, which cannot see
 * a failed setns.
 */
function checkNamespacePath(type: string, nsPath: string): void {
  let actual: number;
  try {
    actual = namespaceTypeOf(nsPath);
  } catch (e) {
    throw new UserError(`linux.namespaces: ${type} namespace path ${nsPath}: ${(e as Error).message}`);
  }
  if (actual !== NAMESPACE_FLAGS[type])
    throw new UserError(`linux.namespaces: ${nsPath} is not a ${type} namespace`);
}

export function createContainer(store: StateStore, o: CreateOptions): Created {
  validateContainerId(o.id);
  const bundle = path.resolve(o.bundle);
  const spec = o.spec ?? loadBundleConfig(bundle);
  debug(`loaded and validated ${path.join(bundle, 'config.json')}`);
  const config = containerConfig(spec, bundle);
  const { process: proc, rootfs, namespaces: ns } = config;
  const hasConsole = o.consoleSocket !== undefined || o.consoleSocketFd !== undefined;
  if (proc.terminal && !hasConsole) {
    throw new UserError('cannot allocate tty if runts will detach without setting console socket');
  }
  if (!proc.terminal && hasConsole) {
    throw new UserError('cannot use console socket if runts will not detach or allocate tty');
  }
  checkCapabilities(proc.capabilities, o.warn ?? (() => {}));
  if ((process.geteuid?.() ?? 0) !== 0) checkRootlessConfig(spec);
  if (!fs.existsSync(rootfs)) throw new UserError(`rootfs (${rootfs}) does not exist`);
  for (const { type, path: nsPath } of ns.paths) checkNamespacePath(type, nsPath);
  const { cloneFlags, userNsPath, pidNsPath, timeNsPath } = ns;
  // Before anything is made: this may re-execute runts (CVE-2019-5736, see reexec.ts).
  if (pidNsPath && ptraceInReach(pidNsPath)) reexecSealed(o.preserveFds);

  const dir = store.createDir(o.id);
  const lock = store.lock(o.id);
  pausePoint('create:dir');
  let pid = 0;
  let consoleFd: number | undefined;
  let channel: ParentChannel | undefined;
  let cgroup: Manager | undefined;
  let cgroupsExisted = new Set<string>();
  let mountSources: PreparedMounts | undefined;
  // Bind sources opened for the init (mount-sources.ts): create's end, the init's end.
  const bindSources = bindSourcesToOpen(spec);
  let sourcesSocket: number[] = [];
  const closeSourcesSocket = (which: number[]) => {
    for (const fd of which) {
      try {
        fs.closeSync(fd);
      } catch {}
    }
    sourcesSocket = sourcesSocket.filter((fd) => !which.includes(fd));
  };
  try {
    const cg = managerForSpec(spec, o.id, {
      systemd: o.systemdCgroup === true,
      rootless: o.rootlessCgroups === true,
    });
    const manager = cg.manager;
    cgroup = manager;
    cgroupsExisted = new Set(cgroup.paths().filter((p) => fs.existsSync(p)));
    // As runc, before anything is made: a cgroup that is already frozen would
    // hold the init forever; one that already has processes is only warned about.
    checkExistingCgroup(cgroup);
    debug(`cgroup: ${cgroup.paths().join(', ') || 'none'}`);
    const record: ContainerRecord = {
      ociVersion: spec.ociVersion,
      id: o.id,
      pid: 0,
      pidStartTime: '',
      bundle,
      rootfs,
      created: new Date().toISOString(),
      owner: '',
      annotations: spec.annotations,
      config: spec,
      cgroupPaths: cgroup.paths(),
      // In the intent too: a create killed after the unit started leaves it to `delete --force`.
      ...(cgroup.unit ? { cgroupUnit: cgroup.unit } : {}),
      ...(o.noNewKeyring ? { noNewKeyring: true } : {}),
    };
    // The intent, before anything is made: if this process dies from here
    // on, `delete --force` finds what it made from this record. Without the
    // config (only what removal reads): a large one is written once, at the end.
    const intent: CreatingIntent = {
      creator: { pid: process.pid, startTime: processStartTime(process.pid) ?? '' },
      newCgroupPaths: cgroup.paths().filter((p) => !cgroupsExisted.has(p)),
      helpers: [],
    };
    const writeIntent = () =>
      store.write({
        ...record,
        annotations: undefined,
        config: { linux: spec.linux?.namespaces ? { namespaces: spec.linux.namespaces } : {} },
        creating: intent,
      });
    writeIntent();
    pausePoint('create:intent');

    const fifo = path.join(dir, EXEC_FIFO);
    mkfifo(fifo, 0o622);
    fs.chmodSync(fifo, 0o622); // not masked by the umask: a joined user namespace's root writes it as "other"

    if ((cloneFlags & CLONE.NEWUSER) !== 0) {
      try {
        fs.chownSync(fifo, hostRootId(spec.linux?.uidMappings), hostRootId(spec.linux?.gidMappings));
      } catch (e) {
        // Rootless, the container's root may be an id of /etc/subuid this
        // user cannot chown to: the fifo is writable by others anyway.
        if ((e as NodeJS.ErrnoException).code !== 'EPERM' || process.geteuid?.() === 0) throw e;
      }
    }
    if (o.consoleSocket) consoleFd = connectUnix(o.consoleSocket);
    else if (o.consoleSocketFd !== undefined) consoleFd = o.consoleSocketFd;

    const execFifoFd = fs.openSync(fifo, O_PATH);
    const waitFd = waitProgramFd();
    const inheritFds = Array.from({ length: o.preserveFds }, (_, i) => 3 + i);
    inheritFds.push(execFifoFd);
    if (waitFd !== undefined) inheritFds.push(waitFd);
    if (consoleFd !== undefined) inheritFds.push(consoleFd);
    mountSources = prepareIdmappedMounts(spec, bundle);
    inheritFds.push(...Object.values(mountSources.fds));
    if (bindSources.length > 0) {
      const pair = socketPair();
      sourcesSocket = pair;
      inheritFds.push(pair[1]);
    }
    const spawned = spawnInit({
      cloneFlags,
      userNsPath,
      pidNsPath,
      timeNsPath,
      newTimeNs: ns.newTimeNs ? { offsets: spec.linux?.timeOffsets } : undefined,
      uidMappings: spec.linux?.uidMappings,
      gidMappings: spec.linux?.gidMappings,
      inheritFds,
      onSpawned: (spawnedPid) => {
        // A nested clone reports its middle process first, then the init.
        if (record.pid > 0) intent.helpers.push({ pid: record.pid, startTime: record.pidStartTime });
        record.pid = spawnedPid;
        record.pidStartTime = processStartTime(spawnedPid) ?? '';
        writeIntent();
        pausePoint('create:spawned');
      },
      onBooted: (initPid) => {
        try {
          manager.apply(initPid);
        } catch (e) {
          throw new UserError(`unable to apply cgroup configuration: ${(e as Error).message}`);
        }
        // A rootless container may run without the cgroups it could not make.
        record.cgroupPaths = manager.paths();
        const [ours] = sourcesSocket;
        if (ours !== undefined) {
          try {
            sendBindSources(initPid, spec, bundle, bindSources, ours);
          } finally {
            closeSourcesSocket([ours]); // the init reads until this end is closed
          }
        }
        pausePoint('create:cgroups');
      },
      bootstrap: {
        id: o.id,
        spec,
        bundle,
        rootfs,
        execFifoPath: fifo,
        execFifoFd,
        consoleSocketFd: consoleFd,
        waitProgramFd: waitFd,
        noPivot: o.noPivot,
        noNewKeyring: o.noNewKeyring,
        preserveFds: o.preserveFds,
        joinNamespaces: ns.join,
        unshareCgroupNs: ns.newCgroupNs,
        // Without annotations: the init takes them from spec, so a large config is not sent twice.
        hookState: hookState({ ...record, annotations: undefined }, 'created', 0),
        mountFds: mountSources.fds,
        bindSourcesFd: sourcesSocket[1],
      },
    });
    fs.closeSync(execFifoFd); // the init has its copy
    if (waitFd !== undefined) fs.closeSync(waitFd);
    closeSourcesSocket(sourcesSocket);
    mountSources.close();
    pid = spawned.pid;
    channel = spawned.channel;
    debug(`init started: pid ${pid}, in its cgroup`);
    record.pid = pid;
    const bootstrapState = hookState(record, 'creating', pid);

    for (;;) {
      const msg = channel.receive();
      if (!msg) {
        const st = waitPid(pid);
        pid = 0;
        throw new UserError(`container init exited unexpectedly (exit status ${st.code})`);
      }
      if (msg.type === 'error') throw new UserError(msg.message);
      if (msg.type === 'run-hooks') {
        debug('init: mounts done; setting cgroup resources, then prestart and createRuntime hooks');
        pausePoint('create:hooks');
        try {
          cgroup.set(cg.resources);
        } catch (e) {
          throw new UserError(`error setting cgroup config for procHooks process: ${(e as Error).message}`);
        }
        runHooks('prestart', spec.hooks?.prestart, bootstrapState, hostHooks(bundle));
        runHooks('createRuntime', spec.hooks?.createRuntime, bootstrapState, hostHooks(bundle));
        channel.send({ type: 'hooks-done' });
        continue;
      }
      if (msg.type === 'ready') {
        debug('init: ready, waiting on exec.fifo for start');
        break;
      }
    }
    pausePoint('create:ready');
    // Until this message the init ends when create does (EOF). Sent before
    // the record: a create killed in between leaves a live init that the
    // intent record names, which `delete --force` removes; one killed after
    // it leaves a created container, as runc's does.
    channel.send({ type: 'created' });
    channel.close();
    record.pidStartTime = processStartTime(pid) ?? '';
    store.write(record);
    pausePoint('create:recorded');
    if (o.pidFile) writeFileAtomic(path.resolve(o.pidFile), String(pid));
    return { record, pid };
  } catch (e) {
    channel?.close();
    const initPid = pid || (e as { initPid?: number }).initPid || 0;
    if (initPid > 0) killAndReap(initPid);
    // Remove the cgroups this create made (never one that was there before).
    if (cgroup) {
      try {
        // A systemd unit is stopped (its directories go with it).
        if (cgroup.unit) cgroup.destroy();
        else removeCgroupDirs(cgroup.paths().filter((p) => !cgroupsExisted.has(p)));
      } catch {}
    }
    store.remove(o.id);
    if (e instanceof SyscallError) throw new UserError(e.message, 1, { cause: e });
    throw e;
  } finally {
    closeSourcesSocket(sourcesSocket);
    mountSources?.close();
    if (consoleFd !== undefined && consoleFd !== o.consoleSocketFd) {
      try {
        fs.closeSync(consoleFd);
      } catch {}
    }
    lock.release();
  }
}

/** runc's checks of a cgroupsPath that exists before create (the init would hang in a frozen one). */
function checkExistingCgroup(m: Manager): void {
  if (m.exists()) {
    const pids = m.allPids();
    if (pids.length > 0) {
      warn(`container's cgroup is not empty: ${pids.length} process(es) found`);
      warn(
        "DEPRECATED: running container in a non-empty cgroup won't be supported in runc 1.2; https://github.com/opencontainers/runc/issues/3132",
      );
    }
  }
  if (m.freezerState() === 'FROZEN') throw new UserError("container's cgroup unexpectedly frozen");
}
