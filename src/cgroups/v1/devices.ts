/**
 * devices (v1): write the difference between the cgroup's devices.list and
 * the wanted rules (runc's emulator transition), then check the result.
 */
import { runningInUserNamespace } from '../../linux/userns.js';
import { Emulator, cgroupString } from '../devices.js';
import { readFile, writeFile } from '../fsutil.js';
import type { Resources } from '../types.js';
import { join, type Subsystem } from './subsystem.js';

export function setDevicesV1(dir: string | undefined, r: Resources): void {
  // In a user namespace the devices controller refuses every write; runc skips it there.
  if (r.skipDevices || runningInUserNamespace()) return;
  if (!dir) throw new Error('cgroup: devices subsystem is not mounted');
  const current = Emulator.fromList(readFile(dir, 'devices.list'));
  const target = Emulator.fromRules(r.devices);
  for (const rule of current.transition(target)) {
    writeFile(dir, rule.allow ? 'devices.allow' : 'devices.deny', cgroupString(rule));
  }
  const after = Emulator.fromList(readFile(dir, 'devices.list'));
  if (!target.isBlacklist() && !after.equals(target))
    throw new Error("resulting devices cgroup doesn't precisely match target");
  if (target.isBlacklist() !== after.isBlacklist())
    throw new Error("resulting devices cgroup doesn't match target mode");
}

export const devices: Subsystem = {
  name: 'devices',
  apply(dir, r, pid) {
    if (r.skipDevices) return;
    join(dir, pid);
  },
  set: setDevicesV1,
};
