/**
 * Bind mount sources, prepared by `create` on the host side.
 *
 * Plain bind sources of a container with its own user and mount namespaces
 * (openBindSourcesIn): the init, root of its user namespace only, may not
 * reach a source under a directory only the host's root may enter. As runc
 * does, `create` opens them (O_PATH, as host root) inside the init's mount
 * namespace, before the init mounts anything, and sends them to the init,
 * which clones them as it clones its own. Opened there and not in the
 * host's namespace, they are the init's copies of the host's mounts: the
 * kernel's locks on them (read-only, nosuid, ...) hold in the container, and
 * they get the init's propagation.
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
import { MOUNT_ATTR, closeFd, fchdir, mountSetattr, openTree } from '../linux/mount.js';
import { CLONE, setns, unshare } from '../linux/ns.js';
import { sendFd, socketPair } from '../linux/socket.js';
import { O_DIRECTORY, O_PATH } from '../linux/at-calls.js';
import { waitPid } from '../linux/wait.js';
import type { LinuxIDMapping, Mount, Spec } from '../spec/types.gen.js';

type IdMap = LinuxIDMapping;
type SpecMount = Mount;

export interface PreparedMounts {
  /** Detached idmapped trees, by the mount's index in spec.mounts. */
  fds: Record<string, number>;
  close(): void;
}

/** True for a mount the init needs a prepared source for. */
function isIdmappedMount(m: SpecMount): boolean {
  const o = m.options ?? [];
  return (
    o.includes('idmap') || o.includes('ridmap') || m.uidMappings !== undefined || m.gidMappings !== undefined
  );
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
    pid = cloneChain(
      CLONE.NEWUSER,
      [
        { fn: 'read', args: [childEnd, byte.address, 1] },
        { fn: '_exit', args: [0] },
      ],
      block,
    );
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
 * Prepare every idmapped mount of `spec`. Throws UserError for a
 * configuration runc refuses or a source the kernel cannot idmap.
 */
export function prepareIdmappedMounts(spec: Spec, bundle: string): PreparedMounts {
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
      if (!isIdmappedMount(m)) return;
      const where = `mount ${m.destination}`;
      const o = m.options ?? [];
      if (m.type !== 'bind' && !o.includes('bind') && !o.includes('rbind')) {
        throw new UserError(`invalid ${where}: id-mapped mounts are only supported for bind-mounts`);
      }
      let key: string;
      let usernsFd: number | undefined;
      if (m.uidMappings || m.gidMappings) {
        if (!m.uidMappings?.length || !m.gidMappings?.length) {
          throw new UserError(
            `invalid ${where}: id-mapped mounts must have both uid and gid mappings specified`,
          );
        }
        key = JSON.stringify([m.uidMappings, m.gidMappings]);
        usernsFd = userns.get(key) ?? userNamespaceFd(m.uidMappings, m.gidMappings);
      } else if (userNs?.path) {
        key = userNs.path;
        usernsFd = userns.get(key) ?? fs.openSync(userNs.path, fs.constants.O_RDONLY);
      } else if (userNs && spec.linux?.uidMappings?.length && spec.linux.gidMappings?.length) {
        key = JSON.stringify([spec.linux.uidMappings, spec.linux.gidMappings]);
        usernsFd = userns.get(key) ?? userNamespaceFd(spec.linux.uidMappings, spec.linux.gidMappings);
      } else {
        throw new UserError(
          `invalid ${where}: id-mapped mounts must have both uid and gid mappings specified`,
        );
      }
      userns.set(key, usernsFd);
      const source = path.resolve(bundle, m.source ?? '');
      let tree: number;
      try {
        tree = openTree(-100, source, { clone: true, recursive: o.includes('rbind') }, source);
      } catch (e) {
        throw new UserError(
          `error mounting "${m.source}" to rootfs at "${m.destination}": open_tree ${source}: ${(e as { code?: string }).code ?? (e as Error).message}`,
        );
      }
      fds[String(i)] = tree;
      try {
        mountSetattr(tree, { set: MOUNT_ATTR.IDMAP, usernsFd }, o.includes('ridmap'), source);
      } catch (e) {
        const code = (e as { code?: string }).code ?? (e as Error).message;
        const hint =
          code === 'EINVAL'
            ? " (maybe the filesystem used doesn't support idmap mounts on this kernel?)"
            : '';
        throw new UserError(
          `error mounting "${m.source}" to rootfs at "${m.destination}": failed to set MOUNT_ATTR_IDMAP on ${source}: ${code}${hint}`,
        );
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

function isBindMount(m: SpecMount): boolean {
  const o = m.options ?? [];
  return m.type === 'bind' || o.includes('bind') || o.includes('rbind');
}

/**
 * Indices (in spec.mounts) of the plain bind mounts whose sources `create`
 * opens for the init: with a new mount namespace and a user namespace, when
 * runts runs as root.
 */
export function bindSourcesToOpen(spec: Spec): number[] {
  // A non-root caller may not enter the init's namespaces, and needs not:
  // the init, its own uid mapped to root, reaches what the caller reaches.
  if ((process.geteuid?.() ?? 0) !== 0) return [];
  const ns: Array<{ type: string; path?: string }> = spec.linux?.namespaces ?? [];
  if (!ns.some((n) => n.type === 'user') || !ns.some((n) => n.type === 'mount' && !n.path)) return [];
  const out: number[] = [];
  (spec.mounts ?? []).forEach((m: SpecMount, i: number) => {
    if (isBindMount(m) && !isIdmappedMount(m)) out.push(i);
  });
  return out;
}

/**
 * Open each listed bind source (O_PATH, following symlinks) as host root
 * inside the mount namespace of process `pid`, and send each fd on `sock`
 * with its index. A source that cannot be opened is left to the init, which
 * reports it as for any other container. This thread enters that namespace
 * (after unshare(CLONE_FS): the kernel requires it of a process with
 * threads) and comes back to its own, and to its own working directory.
 */
export function sendBindSources(
  pid: number,
  spec: Spec,
  bundle: string,
  indices: number[],
  sock: number,
): void {
  if (indices.length === 0) return;
  const own = fs.openSync('/proc/self/ns/mnt', fs.constants.O_RDONLY);
  const cwd = fs.openSync('.', O_PATH | O_DIRECTORY);
  const target = fs.openSync(`/proc/${pid}/ns/mnt`, fs.constants.O_RDONLY);
  const opened: Array<[number, number]> = [];
  try {
    unshare(CLONE.FS, 'CLONE_FS');
    setns(target, CLONE.NEWNS, "the init's mount namespace");
    try {
      for (const i of indices) {
        const source = path.resolve(bundle, spec.mounts?.[i]?.source ?? '');
        try {
          opened.push([i, fs.openSync(source, O_PATH)]);
        } catch {}
      }
    } finally {
      setns(own, CLONE.NEWNS, "runts' own mount namespace");
      fchdir(cwd);
    }
    for (const [i, fd] of opened) sendFd(sock, fd, String(i));
  } finally {
    for (const [, fd] of opened) closeFd(fd);
    for (const fd of [own, cwd, target]) fs.closeSync(fd);
  }
}
