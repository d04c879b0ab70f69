/**
 * Entry of the systemd driver for src/cgroups/index.ts: a manager for a new
 * container (checks the config, then that systemd runs, then reaches the bus)
 * or for one made with the driver.
 */
import { DEFAULT_ROOT } from '../mounts.js';
import { v1DirsOfPaths } from '../paths.js';
import type { Resources } from '../types.js';
import { fsManagerFor, isRunningSystemd, SystemdManager } from './manager.js';
import { annotationProperties, unitPlace } from './unit.js';
import { V1Manager } from '../v1/manager.js';
import { V2Manager } from '../v2/manager.js';

export function newSystemdManager(
  o: {
    id: string;
    cgroupsPath?: string | undefined;
    resources: Resources;
    annotations?: Record<string, string> | undefined;
  },
  unified: boolean,
): SystemdManager {
  // The same order of checks as runc: the config first, then the host.
  const place = unitPlace(o.cgroupsPath, o.id);
  const extra = annotationProperties(o.annotations);
  if (!isRunningSystemd())
    throw new Error('systemd not running on this host, cannot use systemd cgroups manager');
  const m = new SystemdManager(place.unit, fsManagerFor(place.cgroup, unified, o.resources), {
    place,
    resources: o.resources,
    extra,
  });
  m.connect();
  return m;
}

/** The manager of a container made with the systemd driver, from its record. */
export function loadSystemdManager(
  unit: string,
  paths: string[],
  unified: boolean,
  resources?: Resources,
): SystemdManager {
  const dir = paths.at(0);
  if (unified && dir !== undefined)
    return new SystemdManager(unit, new V2Manager(DEFAULT_ROOT, dir, resources));
  return new SystemdManager(unit, new V1Manager(v1DirsOfPaths(paths), resources));
}
