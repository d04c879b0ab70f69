/**
 * cgroups for runts: pick the driver the host needs (v1 cgroupfs on legacy
 * and hybrid hosts, v2 on unified ones), build a Manager for a new container
 * from its config, or for an existing one from the directories its record
 * keeps.
 */
import type { Spec } from '../spec/types.gen.js';
import { cgroupMode, cgroupMounts, DEFAULT_ROOT, findMount, mountOf } from './mounts.js';
import { innerPath, v1Dirs, v2Dir } from './paths.js';
import { resourcesFromSpec } from './resources.js';
import type { Manager, Resources } from './types.js';
import { SUBSYSTEMS, V1Manager } from './v1/manager.js';
import { V2Manager } from './v2/manager.js';

export type { Manager, Resources, Stats, FreezerState } from './types.js';
export { resourcesFromSpec } from './resources.js';

export interface NewManagerOptions {
  id: string;
  cgroupsPath?: string;
  resources: Resources;
}

export function newManager(o: NewManagerOptions): Manager {
  const inner = innerPath(o.cgroupsPath, o.id);
  if (cgroupMode() === 'unified') return new V2Manager(DEFAULT_ROOT, v2Dir(inner, DEFAULT_ROOT), o.resources);
  const subsystems = SUBSYSTEMS.map((s) => s.name).filter((n) => n !== '' || findMount('') !== undefined);
  return new V1Manager(v1Dirs(inner, subsystems), o.resources);
}

/** A manager for a container's config (`linux.cgroupsPath`, `linux.resources`). */
export function managerForSpec(spec: Spec, id: string): { manager: Manager; resources: Resources } {
  const resources = resourcesFromSpec(spec);
  return { manager: newManager({ id, cgroupsPath: spec.linux?.cgroupsPath, resources }), resources };
}

/** The manager of an existing container, from the directories in its record; undefined without any. */
export function loadManager(paths: string[] | undefined, resources?: Resources): Manager | undefined {
  if (!paths || paths.length === 0) return undefined;
  const mounts = cgroupMounts();
  if (cgroupMode() === 'unified') {
    const m = mountOf(paths[0], mounts);
    return new V2Manager(m?.mountpoint ?? DEFAULT_ROOT, paths[0], resources);
  }
  const dirs = new Map<string, string>();
  for (const p of paths) {
    const m = mountOf(p, mounts);
    if (!m) continue;
    if (m.version === 2) dirs.set('', p);
    else for (const s of m.subsystems) dirs.set(s, p);
  }
  return new V1Manager(dirs, resources);
}

/** Remove cgroup directories (sub-cgroups first, retrying while busy). */
export { removePaths as removeCgroupDirs } from './fsutil.js';
