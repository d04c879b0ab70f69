/**
 * cgroups for runts: pick the driver the host needs (v1 cgroupfs on legacy
 * and hybrid hosts, v2 on unified ones), build a Manager for a new container
 * from its config, or for an existing one from the directories its record
 * keeps.
 */
import type { Spec } from '../spec/types.gen.js';
import { cgroupMode, cgroupMounts, DEFAULT_ROOT, findMount, mountOf } from './mounts.js';
import { innerPath, v1Dirs, v1DirsOfPaths, v2Dir } from './paths.js';
import { resourcesFromSpec } from './resources.js';
import type { Manager, Resources } from './types.js';
import { SUBSYSTEMS, V1Manager } from './v1/manager.js';
import { V2Manager } from './v2/manager.js';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

export type { Manager, Resources, Stats, FreezerState } from './types.js';
export { resourcesFromSpec } from './resources.js';

export interface NewManagerOptions {
  id: string;
  cgroupsPath?: string | undefined;
  resources: Resources;
  /** --systemd-cgroup: a transient systemd unit (cgroupsPath "slice:prefix:name"). */
  systemd?: boolean | undefined;
  annotations?: Record<string, string> | undefined;
  /** Tolerate cgroup permission errors as runc's rootless manager does. */
  rootless?: boolean | undefined;
}

type SystemdDriver = typeof import('./systemd/driver.js');

/**
 * The systemd driver, a bundle of its own (dist/systemd-driver.cjs; its D-Bus
 * library is in the worker's, dist/systemd-bus.cjs): required only for a
 * container that uses it, so other commands load none of it.
 */
function systemdDriver(): SystemdDriver {
  const dist = path.dirname(fs.realpathSync(process.argv.at(1) ?? '.'));
  return createRequire(import.meta.url)(path.join(dist, 'systemd-driver.cjs')) as SystemdDriver;
}

export function newManager(o: NewManagerOptions): Manager {
  if (o.systemd) return systemdDriver().newSystemdManager(o, cgroupMode() === 'unified');
  const inner = innerPath(o.cgroupsPath, o.id);
  const policy = { rootless: o.rootless === true, explicitPath: !!o.cgroupsPath };
  if (cgroupMode() === 'unified')
    return new V2Manager(DEFAULT_ROOT, v2Dir(inner, DEFAULT_ROOT), o.resources, policy);
  const subsystems = SUBSYSTEMS.map((s) => s.name).filter((n) => n !== '' || findMount('') !== undefined);
  return new V1Manager(v1Dirs(inner, subsystems), o.resources, policy);
}

/** A manager for a container's config (`linux.cgroupsPath`, `linux.resources`). */
export function managerForSpec(
  spec: Spec,
  id: string,
  o: { systemd?: boolean; rootless?: boolean } = {},
): { manager: Manager; resources: Resources } {
  const resources = resourcesFromSpec(spec);
  const manager = newManager({
    id,
    cgroupsPath: spec.linux?.cgroupsPath,
    resources,
    systemd: o.systemd,
    rootless: o.rootless,
    annotations: spec.annotations as Record<string, string> | undefined,
  });
  return { manager, resources };
}

/**
 * The manager of an existing container, from the directories in its record
 * (and its systemd unit, with the systemd driver); undefined without any.
 */
export function loadManager(
  paths: string[] | undefined,
  resources?: Resources,
  unit?: string,
): Manager | undefined {
  const first = paths?.at(0);
  if (paths === undefined || first === undefined) return undefined;
  if (unit) return systemdDriver().loadSystemdManager(unit, paths, cgroupMode() === 'unified', resources);
  if (cgroupMode() === 'unified') {
    const m = mountOf(first, cgroupMounts());
    return new V2Manager(m?.mountpoint ?? DEFAULT_ROOT, first, resources);
  }
  return new V1Manager(v1DirsOfPaths(paths), resources);
}

/** Remove cgroup directories (sub-cgroups first, retrying while busy). */
export { removePaths as removeCgroupDirs } from './fsutil.js';
