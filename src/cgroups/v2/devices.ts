/**
 * Device access on cgroup v2: load the generated program and attach it with
 * BPF_F_ALLOW_MULTI, replacing the program already attached (BPF_F_REPLACE
 * when there is exactly one), and detaching any others, so programs never
 * stack up across updates.
 */
import fs from 'node:fs';
import {
  attachProgram,
  BPF_CGROUP_DEVICE,
  BPF_F_ALLOW_MULTI,
  BPF_F_REPLACE,
  BPF_PROG_TYPE_CGROUP_DEVICE,
  detachProgram,
  haveProgReplace,
  loadProgram,
  programFdById,
  queryPrograms,
} from '../../linux/bpf.js';
import { setrlimit } from '../../linux/rlimit.js';
import { runningInUserNamespace } from '../../linux/userns.js';
import type { DeviceRule, Resources } from '../types.js';
import { deviceFilter, LICENSE } from './device-filter.js';

/** Attach the program for `rules` to the cgroup at `dir`. */
export function attachDeviceFilter(dir: string, rules: DeviceRule[]): void {
  const prog = deviceFilter(rules);
  // Kernels before 5.11 charge BPF programs to RLIMIT_MEMLOCK; raising it may fail (no CAP_SYS_RESOURCE).
  try {
    setrlimit('RLIMIT_MEMLOCK', -1n, -1n);
  } catch {}
  const dirFd = fs.openSync(dir, fs.constants.O_DIRECTORY | fs.constants.O_RDONLY);
  const fds: number[] = [];
  try {
    const oldIds = queryPrograms(dirFd, BPF_CGROUP_DEVICE);
    const oldFds: number[] = [];
    for (const id of oldIds) {
      try {
        const fd = programFdById(id);
        fds.push(fd);
        oldFds.push(fd);
      } catch (e) {
        if ((e as { code?: string }).code === 'EPERM' || (e as { code?: string }).code === 'EACCES') continue;
        throw e;
      }
    }
    const progFd = loadProgram(BPF_PROG_TYPE_CGROUP_DEVICE, prog, LICENSE, 'runts_devices');
    fds.push(progFd);
    const replace = oldFds.length === 1 && haveProgReplace();
    try {
      attachProgram({
        targetFd: dirFd,
        progFd,
        attachType: BPF_CGROUP_DEVICE,
        flags: BPF_F_ALLOW_MULTI | (replace ? BPF_F_REPLACE : 0),
        replaceFd: replace ? oldFds[0] : undefined,
      });
    } catch (e) {
      throw new Error(
        `failed to call BPF_PROG_ATTACH (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI): ${(e as Error).message}`,
        { cause: e },
      );
    }
    if (!replace) {
      for (const old of oldFds) {
        try {
          detachProgram(dirFd, old, BPF_CGROUP_DEVICE);
        } catch (e) {
          throw new Error(
            `failed to call BPF_PROG_DETACH (BPF_CGROUP_DEVICE) on old filter program: ${(e as Error).message}`,
            { cause: e },
          );
        }
      }
    }
  } finally {
    for (const fd of fds) fs.closeSync(fd);
    fs.closeSync(dirFd);
  }
}

/** runc skips a failure when every rule is a plain allow-all ("rwm") or in a user namespace. */
function canSkipError(r: Resources): boolean {
  if (runningInUserNamespace()) return true;
  return r.devices.every((d) => d.allow && ['r', 'w', 'm'].every((c) => d.permissions.includes(c)));
}

export function setDevicesV2(dir: string, r: Resources): void {
  if (r.skipDevices) return;
  try {
    attachDeviceFilter(dir, r.devices);
  } catch (e) {
    if (!canSkipError(r)) throw e;
  }
}
