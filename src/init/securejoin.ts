/**
 * Paths inside the container's rootfs, resolved the way the container will
 * see them and never outside it: symlinks (absolute or relative, `..`
 * included) are followed relative to the rootfs, so an image whose /etc is
 * a symlink to / or to ../../../host cannot make the init touch the host.
 *
 * Every function returns file descriptors, not paths: what was checked is
 * what gets mounted on or written (through the fd, /proc/self/fd/N or
 * move_mount), so a symlink swapped in after the lookup changes nothing.
 *
 * Lookups use openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) where the
 * kernel has it (5.6+). Creating directories (and lookups on older kernels)
 * walks one component at a time: each component opened O_PATH|O_NOFOLLOW
 * relative to the fd of the one before, a symlink read through its own fd
 * and its target walked from the root (absolute) or from the current
 * directory (relative), and `..` taken as the directory walked before,
 * never the kernel's `..`, and never above the root.
 *
 * A destination is cleaned lexically first (as runc does): "/a/../b" is "/b".
 */
import fs from 'node:fs';
import path from 'node:path';
import { errnoOf } from '../linux/errno.js';
import {
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_RDONLY,
  RESOLVE,
  hasOpenat2,
  mkdirat,
  openat,
  openat2,
  readlinkat,
  symlinkat,
  unlinkat,
} from '../linux/at-calls.js';

const MAX_SYMLINKS = 40;

/** "/" + the path cleaned of ".", "..", doubled and trailing slashes. */
export function cleanPath(unsafe: string): string {
  const p = path.posix.normalize('/' + unsafe);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {}
}

/** An error from a lookup inside the rootfs, naming the container path. */
export class RootPathError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'RootPathError';
  }
}

export class Root {
  private constructor(
    /** The host path of the rootfs (for messages and checks). */
    readonly path: string,
    /** O_PATH|O_DIRECTORY fd of the rootfs. */
    readonly fd: number,
  ) {}

  /** Open the rootfs (a trusted path: the bundle's, or "/" after pivot_root). */
  static open(rootPath: string): Root {
    const fd = fs.openSync(rootPath, O_PATH | O_DIRECTORY | O_CLOEXEC);
    // Its real path (the bundle path may hold symlinks), as pathOf() gives paths under it.
    let real = rootPath;
    try {
      real = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {}
    return new Root(real, fd);
  }

  close(): void {
    closeQuietly(this.fd);
  }

  /** The host path an fd inside the root stands for (for messages). */
  pathOf(fd: number): string {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return `fd ${fd}`;
    }
  }

  /** True when `fd` is the root directory itself. */
  isRoot(fd: number): boolean {
    const a = fs.fstatSync(fd);
    const b = fs.fstatSync(this.fd);
    return a.dev === b.dev && a.ino === b.ino;
  }

  /**
   * Open an existing `unsafe` path inside the root (O_PATH unless `flags`
   * says otherwise). With `noFollow` a symlink in the last component is
   * opened itself. Throws RootPathError with code ENOENT when something
   * on the way does not exist.
   */
  open(unsafe: string, flags = O_PATH, noFollow = false): number {
    const clean = cleanPath(unsafe);
    const extra = noFollow ? O_NOFOLLOW : 0;
    if (clean === '/') return openat(this.fd, '.', flags | extra);
    if (hasOpenat2()) {
      try {
        return openat2(
          this.fd,
          clean.slice(1),
          flags | extra,
          0,
          RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS,
          clean,
        );
      } catch (e) {
        if (errnoOf(e) !== 'ENOSYS')
          throw new RootPathError(`${clean}: ${errnoOf(e) ?? (e as Error).message}`, errnoOf(e));
      }
    }
    const dir = this.walk(clean, false, noFollow);
    if (flags === O_PATH) return dir;
    try {
      // Reopen with real access through the O_PATH fd (never a path lookup).
      return fs.openSync(`/proc/self/fd/${dir}`, flags | O_CLOEXEC);
    } finally {
      closeQuietly(dir);
    }
  }

  /** Like open, undefined when the path does not exist. */
  tryOpen(unsafe: string, flags = O_PATH, noFollow = false): number | undefined {
    try {
      return this.open(unsafe, flags, noFollow);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** mkdir -p inside the root; returns an O_PATH fd of the directory. */
  mkdirAll(unsafe: string, mode = 0o755): number {
    const clean = cleanPath(unsafe);
    const existing = this.tryOpen(clean, O_PATH | O_DIRECTORY);
    if (existing !== undefined) return existing;
    return this.walk(clean, true, false, mode);
  }

  /**
   * The directory that will hold `unsafe` (created as needed) and the name
   * in it. The name is never "", "." or "..".
   */
  mkdirAllParent(unsafe: string, mode = 0o755): { dirFd: number; name: string } {
    const clean = cleanPath(unsafe);
    if (clean === '/') throw new RootPathError('/: is the root of the container');
    const name = path.posix.basename(clean);
    return { dirFd: this.mkdirAll(path.posix.dirname(clean), mode), name };
  }

  /**
   * An existing file or directory at `unsafe`, else a new empty file
   * (`asFile`) or directory made there. Returns an O_PATH fd.
   */
  createTarget(unsafe: string, asFile: boolean, mode = asFile ? 0o644 : 0o755): number {
    return this.openOrCreate(unsafe, asFile, mode).fd;
  }

  /** createTarget, saying whether the target had to be made. */
  openOrCreate(
    unsafe: string,
    asFile: boolean,
    mode = asFile ? 0o644 : 0o755,
  ): { fd: number; created: boolean } {
    const existing = this.tryOpen(unsafe);
    if (existing !== undefined) return { fd: existing, created: false };
    return { fd: this.create(unsafe, asFile, mode), created: true };
  }

  private create(unsafe: string, asFile: boolean, mode: number, links = 0): number {
    if (!asFile) return this.mkdirAll(unsafe, mode);
    const { dirFd, name } = this.mkdirAllParent(unsafe);
    try {
      let fd: number;
      try {
        fd = openat(dirFd, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_RDONLY, mode, cleanPath(unsafe));
      } catch (e) {
        if (errnoOf(e) !== 'EEXIST') throw e;
        // A dangling symlink (the lookup found nothing): the file is made
        // where it points, inside the root, as runc does.
        const target = this.danglingTarget(dirFd, name);
        if (target === undefined) return this.open(unsafe); // made meanwhile
        if (links >= MAX_SYMLINKS)
          throw new RootPathError(`${cleanPath(unsafe)}: ELOOP (too many levels of symbolic links)`, 'ELOOP');
        return this.create(target, asFile, mode, links + 1);
      }
      return fd;
    } finally {
      closeQuietly(dirFd);
    }
  }

  /** Where the symlink `name` in `dirFd` points, as a path inside the root; undefined when it is not a symlink. */
  private danglingTarget(dirFd: number, name: string): string | undefined {
    const fd = openat(dirFd, name, O_PATH | O_NOFOLLOW, 0, name);
    try {
      if (!fs.fstatSync(fd).isSymbolicLink()) return undefined;
      const target = readlinkat(fd, '', name);
      return target.startsWith('/') ? target : path.posix.join(this.insidePathOf(dirFd), target);
    } finally {
      closeQuietly(fd);
    }
  }

  /** The path inside the root of a directory fd under it ("/" for the root). */
  private insidePathOf(dirFd: number): string {
    const host = this.pathOf(dirFd);
    if (this.path === '/') return host;
    if (host === this.path) return '/';
    if (host.startsWith(this.path + '/')) return host.slice(this.path.length);
    throw new RootPathError(`${host}: not under the container's root ${this.path}`);
  }

  /** symlink(target) at `unsafe` (its parent created as needed); EEXIST is thrown. */
  symlink(target: string, unsafe: string): void {
    const { dirFd, name } = this.mkdirAllParent(unsafe);
    try {
      symlinkat(target, dirFd, name, cleanPath(unsafe));
    } finally {
      closeQuietly(dirFd);
    }
  }

  /** Remove the file `unsafe` (not following a symlink in its last component); no error if absent. */
  unlink(unsafe: string): void {
    const clean = cleanPath(unsafe);
    const dirFd = this.tryOpen(path.posix.dirname(clean), O_PATH | O_DIRECTORY);
    if (dirFd === undefined) return;
    try {
      unlinkat(dirFd, path.posix.basename(clean), 0, clean);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
    } finally {
      closeQuietly(dirFd);
    }
  }

  /**
   * The component walk (see the top of the file). With `create`, missing
   * directories are made (`mode`) and the result is a directory; otherwise
   * ENOENT is thrown. Returns an O_PATH fd.
   */
  private walk(clean: string, create: boolean, noFollowLast: boolean, mode = 0o755): number {
    let remaining = clean.split('/').filter((c) => c !== '' && c !== '.');
    // The root (a copy of this.fd) and the directories walked below it,
    // innermost last: all ours to close, except the one returned.
    const top = openat(this.fd, '.', O_PATH | O_DIRECTORY);
    const below: number[] = [];
    let kept: number | undefined;
    let links = 0;
    try {
      for (let c = remaining.shift(); c !== undefined; c = remaining.shift()) {
        const cur = below.at(-1) ?? top;
        if (c === '..') {
          const up = below.pop();
          if (up !== undefined) closeQuietly(up);
          continue;
        }
        let fd: number;
        try {
          fd = openat(cur, c, O_PATH | O_NOFOLLOW, 0, clean);
        } catch (e) {
          if (errnoOf(e) !== 'ENOENT' || !create)
            throw new RootPathError(`${clean}: ${errnoOf(e)}`, errnoOf(e));
          try {
            mkdirat(cur, c, mode, clean);
          } catch (e2) {
            if (errnoOf(e2) !== 'EEXIST') throw e2;
          }
          remaining.unshift(c); // open it (or what raced into its place) again
          continue;
        }
        const st = fs.fstatSync(fd);
        if (st.isSymbolicLink() && !(noFollowLast && remaining.length === 0)) {
          if (++links > MAX_SYMLINKS) {
            closeQuietly(fd);
            throw new RootPathError(`${clean}: ELOOP (too many levels of symbolic links)`, 'ELOOP');
          }
          const target = readlinkat(fd, '', clean);
          closeQuietly(fd);
          if (target.startsWith('/'))
            for (let d = below.pop(); d !== undefined; d = below.pop()) closeQuietly(d);
          remaining = [...target.split('/').filter((x) => x !== '' && x !== '.'), ...remaining];
          continue;
        }
        if (remaining.length > 0 && !st.isDirectory()) {
          closeQuietly(fd);
          throw new RootPathError(`${clean}: ENOTDIR`, 'ENOTDIR');
        }
        below.push(fd);
      }
      const result = below.at(-1) ?? top;
      if (create && !fs.fstatSync(result).isDirectory())
        throw new RootPathError(`${clean}: ENOTDIR`, 'ENOTDIR');
      kept = result;
      return result;
    } finally {
      for (const fd of [top, ...below]) if (fd !== kept) closeQuietly(fd);
    }
  }
}
