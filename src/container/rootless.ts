/**
 * runc's checks of a config run by a non-root user (its rootlessEUIDCheck):
 * without a user namespace and mappings nothing could work, and a mount's
 * uid=/gid= option must name an id the namespace maps.
 */
import type { LinuxIDMapping, Spec } from '../spec/types.gen.js';
import { UserError } from '../errors.js';

function mapped(id: number, maps: LinuxIDMapping[]): boolean {
  return maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
}

export function checkRootlessConfig(spec: Spec): void {
  const linux = spec.linux ?? {};
  if (!linux.namespaces?.some((n) => n.type === 'user'))
    throw new UserError('rootless container requires user namespaces');
  const uids = linux.uidMappings ?? [];
  const gids = linux.gidMappings ?? [];
  if (uids.length === 0) throw new UserError('rootless containers requires at least one UID mapping');
  if (gids.length === 0) throw new UserError('rootless containers requires at least one GID mapping');
  for (const m of spec.mounts ?? []) {
    for (const opt of m.options ?? []) {
      const found = /^(uid|gid)=(\d+)/.exec(opt);
      if (!found) continue; // as runc: an option it cannot read is not its business
      const [, kind = 'uid', digits = ''] = found;
      const id = Number(digits);
      if (!mapped(id, kind === 'uid' ? uids : gids)) {
        throw new UserError(
          `cannot specify ${kind}=${id} mount option for rootless container: ` +
            `user namespaces enabled, but no mapping found for ${kind} ${id}`,
        );
      }
    }
  }
}
