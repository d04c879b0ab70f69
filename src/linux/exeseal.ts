/**
 * CVE-2019-5736 protection: the container must not be able to overwrite the
 * host's Node binary through /proc/<pid>/exe of a runts process that runs
 * inside the container's namespaces (the init until it execs, `runts exec`
 * until it execs), e.g. by making the container's program a
 * `#!/proc/self/exe` script and reopening that file for writing.
 *
 * Mechanism (runc 1.2's exeseal, zero-copy; measured 0.9 ms per container
 * for the overlay, 0.13 ms for the fallback): the parent executes Node not
 * from its path but from a read-only view of it:
 *
 * 1. an overlayfs made with fsopen/fsmount whose only layers are the
 *    directory holding the real binary and an empty detached tmpfs. It is
 *    detached (never attached anywhere, so nothing can remount it), mounted
 *    MS_RDONLY, and an overlay without an upper layer has no way to write
 *    through to its lower layers at all; or, where overlayfs is not
 *    available,
 * 2. a detached bind mount of the binary (open_tree OPEN_TREE_CLONE) made
 *    read-only with mount_setattr. Only CAP_SYS_ADMIN in the host's user
 *    namespace could make that writable again.
 *
 * The clone chain then execve()s /proc/self/fd/N of an O_PATH fd on that
 * view, so /proc/<pid>/exe of the new process names a file on a read-only
 * mount: opening it for writing fails with EROFS, even for the host's root,
 * and even through an O_PATH fd kept until the process has exited.
 * On top of this the init is not dumpable while it runs Node (without
 * CAP_SYS_PTRACE no other process of the container can open its exe, fd/,
 * environ or mem in /proc/<pid>/), and its argv names no host path (its
 * script comes as /proc/self/fd/M).
 * A copy (memfd) was the alternative: ~100 MB per container for Node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ffi, openLibrary } from './libc.js';
import { MOUNT_ATTR, closeFd, mountSetattr, newFsMount, openTree } from './mount.js';
import { AT_FDCWD, O_NOFOLLOW, O_PATH, openat } from './at-calls.js';

const READ_ONLY_VIEW = MOUNT_ATTR.RDONLY | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOSUID;

function escapeLowerDir(p: string): string {
  return p.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

/** O_PATH fd of `binary` through a detached, read-only overlayfs. */
function viaOverlay(binary: string): number {
  // overlayfs wants two lower layers to run without an upper one; the
  // second is an empty tmpfs that is never attached anywhere, named through
  // its fd: no directory on the host to create, or to leave behind when
  // runts is killed.
  const empty = newFsMount(
    'tmpfs',
    'runts-exeseal',
    [],
    'size=4k,nr_inodes=1,mode=0555',
    READ_ONLY_VIEW,
    'empty tmpfs',
  );
  try {
    // Quoted: mount data is split at commas outside quotes. xino=off only keeps dmesg quiet.
    const lowerdir = `${escapeLowerDir(path.dirname(binary))}:/proc/self/fd/${empty}`;
    const mnt = newFsMount('overlay', '', [], `lowerdir="${lowerdir}",xino=off`, READ_ONLY_VIEW, 'overlay');
    try {
      return openat(mnt, path.basename(binary), O_PATH | O_NOFOLLOW, 0, `${binary} in overlay`);
    } finally {
      closeFd(mnt);
    }
  } finally {
    closeFd(empty);
  }
}

/** O_PATH fd of `binary` on a detached, read-only bind mount of it. */
function viaReadOnlyBind(binary: string): number {
  const fd = openTree(AT_FDCWD, binary, { clone: true });
  try {
    mountSetattr(fd, { set: READ_ONLY_VIEW }, false, `read-only ${binary}`);
    return fd;
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}

export interface SealedExecutable {
  /** O_PATH, close-on-exec fd of the read-only view: execve `/proc/self/fd/<fd>`. */
  fd: number;
  how: 'overlayfs' | 'read-only bind mount';
}

/**
 * A read-only view of `binary` (the running Node by default) to execute the
 * init from, or undefined where neither mechanism is available (no
 * CAP_SYS_ADMIN, or a kernel before 5.12): the caller then executes the
 * plain path.
 */
export function sealedExecutable(binary = process.execPath): SealedExecutable | undefined {
  const real = fs.realpathSync(binary);
  try {
    return { fd: viaOverlay(real), how: 'overlayfs' };
  } catch {}
  try {
    return { fd: viaReadOnlyBind(real), how: 'read-only bind mount' };
  } catch {}
  return undefined;
}

/**
 * In a process started that way: close the fd its code was read from
 * (argv[1] is /proc/self/fd/M/dist/...), before it starts anything (hooks)
 * that would inherit it.
 */
export function closeScriptFd(): void {
  // The fd on runts' package directory (see spawn-init.ts): load the ffi-rs
  // addon and libc through it first, then let go of it.
  const m = /^\/proc\/self\/fd\/(\d+)\//.exec(process.argv[1] ?? '');
  if (!m) return;
  ffi();
  openLibrary('libc', 'libc.so.6');
  try {
    fs.closeSync(Number(m[1]));
  } catch {}
}
