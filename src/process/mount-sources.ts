/**
 * Bind mount sources, prepared by `create` on the host side.
 *
 * With a user namespace, every bind source is cloned here, as host root:
 * the init, root of its user namespace only, cannot reach a source under a
 * directory only the host's root may enter (runc opens bind sources before
 * its init enters the user namespace for the same reason). The init then
 * handles the clone as it handles its own.
 *
 * Idmapped bind mounts need the host side in any case. Setting
 * MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN in the user namespace that owns the
 * source filesystem (the host's), which a user-namespaced init does not
 * have. So, as runc does, `create` clones the source (open_tree
 * OPEN_TREE_CLONE), sets the idmapping on the detached copy, and passes it
 * to the init as an inherited fd; the init sets its other flags and
 * move_mounts it onto the target it resolved inside the rootfs.
 *
 * The mapping is the mount's uidMappings/gidMappings, else the container's
 * own (its user namespace path when it joins one). The user namespace that
 * carries a mapping is made by a helper process that only waits.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { cloneChain } from '../linux/clone-chain.js';
import { NativeBlock } from '../linux/memory.js';
import { MOUNT_ATTR, closeFd, mountSetattr, openTree } from '../linux/mount.js';
import { CLONE } from '../linux/ns.js';
import { socketPair } from '../linux/socket.js';
import { waitPid } from '../linux/wait.js';

interface IdMap {
  containerID: number;
  hostID: number;
  size: number;
}

interface SpecMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: IdMap[];
  gidMappings?: IdMap[];
}

export interface PreparedMounts {
  /** Detached idmapped trees, by the mount's index in spec.mounts. */
  fds: Record<string, number>;
  close(): void;
}

/** True for a mount the init needs a prepared source for. */
export function isIdmappedMount(m: SpecMount): boolean {
  const o = m.options ?? [];
  return o.includes('idmap') || o.includes('ridmap') || m.uidMappings !== undefined || m.gidMappings !== undefined;
}

function isBindMount(m: SpecMount): boolean {
  const o = m.options ?? [];
  return m.type === 'bind' || o.includes('bind') || o.includes('rbind');
}

function mapText(maps: IdMap[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join('\n') + '\n';
}

/** A user namespace with these mappings, held by a helper process only as long as it takes to open it. */
function userNamespaceFd(uid: IdMap[], gid: IdMap[]): number {
  const [parentEnd, childEnd] = socketPair();
  const block = new NativeBlock(1 << 18);
  const byte = block.alloc(8);
  let pid = 0;
  try {
    pid = cloneChain(CLONE.NEWUSER, [
      { fn: 'read', args: [childEnd, byte.address, 1] },
      { fn: '_exit', args: [0] },
    ], block);
    fs.writeFileSync(`/proc/${pid}/uid_map`, mapText(uid));
    fs.writeFileSync(`/proc/${pid}/gid_map`, mapText(gid));
    return fs.openSync(`/proc/${pid}/ns/user`, fs.constants.O_RDONLY);
  } finally {
    // The helper has its own copy of both ends: wake it with a byte, not EOF.
    if (pid > 0) {
      try {
        fs.writeSync(parentEnd, 'x');
      } catch {}
    }
    fs.closeSync(childEnd);
    fs.closeSync(parentEnd);
    if (pid > 0) waitPid(pid);
  }
}

/**
 * Prepare every idmapped mount of `spec`, and with a user namespace every
 * other bind mount's source. Throws UserError for an idmapped mount runc
 * refuses or a source the kernel cannot idmap; a plain bind source that
 * cannot be cloned here is left to the init, which reports it as usual.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function prepareMountSources(spec: any, bundle: string): PreparedMounts {
  const fds: Record<string, number> = {};
  const userns = new Map<string, number>();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const fd of Object.values(fds)) closeFd(fd);
    for (const fd of userns.values()) closeFd(fd);
    userns.clear();
  };
  const nsList: Array<{ type: string; path?: string }> = spec.linux?.namespaces ?? [];
  const userNs = nsList.find((n) => n.type === 'user');
  try {
    (spec.mounts ?? []).forEach((m: SpecMount, i: number) => {
      if (!isIdmappedMount(m)) {
        if (userNs && isBindMount(m)) {
          const source = path.resolve(bundle, m.source ?? '');
          try {
            fds[String(i)] = openTree(-100, source, { clone: true, recursive: (m.options ?? []).includes('rbind') }, source);
          } catch {}
        }
        return;
      }
      const where = `mount ${m.destination}`;
      const o = m.options ?? [];
      if (m.type !== 'bind' && !o.includes('bind') && !o.includes('rbind')) {
        throw new UserError(`invalid ${where}: id-mapped mounts are only supported for bind-mounts`);
      }
      let key: string;
      let usernsFd: number | undefined;
      if (m.uidMappings || m.gidMappings) {
        if (!m.uidMappings?.length || !m.gidMappings?.length) {
          throw new UserError(`invalid ${where}: id-mapped mounts must have both uid and gid mappings specified`);
        }
        key = JSON.stringify([m.uidMappings, m.gidMappings]);
        usernsFd = userns.get(key) ?? userNamespaceFd(m.uidMappings, m.gidMappings);
      } else if (userNs?.path) {
        key = userNs.path;
        usernsFd = userns.get(key) ?? fs.openSync(userNs.path, fs.constants.O_RDONLY);
      } else if (userNs && spec.linux?.uidMappings?.length && spec.linux?.gidMappings?.length) {
        key = JSON.stringify([spec.linux.uidMappings, spec.linux.gidMappings]);
        usernsFd = userns.get(key) ?? userNamespaceFd(spec.linux.uidMappings, spec.linux.gidMappings);
      } else {
        throw new UserError(`invalid ${where}: id-mapped mounts must have both uid and gid mappings specified`);
      }
      userns.set(key, usernsFd);
      const source = path.resolve(bundle, m.source ?? '');
      let tree: number;
      try {
        tree = openTree(-100, source, { clone: true, recursive: o.includes('rbind') }, source);
      } catch (e) {
        throw new UserError(`error mounting "${m.source}" to rootfs at "${m.destination}": open_tree ${source}: ${(e as { code?: string }).code ?? (e as Error).message}`);
      }
      fds[String(i)] = tree;
      try {
        mountSetattr(tree, { set: MOUNT_ATTR.IDMAP, usernsFd }, o.includes('ridmap'), source);
      } catch (e) {
        const code = (e as { code?: string }).code ?? (e as Error).message;
        const hint = code === 'EINVAL' ? " (maybe the filesystem used doesn't support idmap mounts on this kernel?)" : '';
        throw new UserError(`error mounting "${m.source}" to rootfs at "${m.destination}": failed to set MOUNT_ATTR_IDMAP on ${source}: ${code}${hint}`);
      }
    });
  } catch (e) {
    close();
    throw e;
  }
  for (const fd of userns.values()) closeFd(fd);
  userns.clear();
  return { fds, close };
}
