/**
 * The runtime-spec's mount options as mount(2) flags, propagation flags,
 * recursive mount attributes (mount_setattr), id-mapping and filesystem
 * data (what the kernel does not know as a flag). The same table as runc's
 * (libcontainer/specconv).
 */
import { MOUNT_ATTR, MS } from './mount.js';

const MS_I_VERSION = 0x800000;

interface FlagChange {
  set?: number;
  clear?: number;
}

const FLAG_OPTIONS: Record<string, FlagChange> = {
  async: { clear: MS.SYNCHRONOUS },
  atime: { clear: MS.NOATIME },
  bind: { set: MS.BIND },
  defaults: {},
  dev: { clear: MS.NODEV },
  diratime: { clear: MS.NODIRATIME },
  dirsync: { set: MS.DIRSYNC },
  exec: { clear: MS.NOEXEC },
  iversion: { set: MS_I_VERSION },
  lazytime: { set: MS.LAZYTIME },
  loud: { clear: MS.SILENT },
  mand: { set: MS.MANDLOCK },
  noatime: { set: MS.NOATIME },
  nodev: { set: MS.NODEV },
  nodiratime: { set: MS.NODIRATIME },
  noexec: { set: MS.NOEXEC },
  noiversion: { clear: MS_I_VERSION },
  nolazytime: { clear: MS.LAZYTIME },
  nomand: { clear: MS.MANDLOCK },
  norelatime: { clear: MS.RELATIME },
  nostrictatime: { clear: MS.STRICTATIME },
  nosuid: { set: MS.NOSUID },
  nosymfollow: { set: MS.NOSYMFOLLOW },
  rbind: { set: MS.BIND | MS.REC },
  relatime: { set: MS.RELATIME },
  remount: { set: MS.REMOUNT },
  ro: { set: MS.RDONLY },
  rw: { clear: MS.RDONLY },
  silent: { set: MS.SILENT },
  strictatime: { set: MS.STRICTATIME },
  suid: { clear: MS.NOSUID },
  symfollow: { clear: MS.NOSYMFOLLOW },
  sync: { set: MS.SYNCHRONOUS },
};

export const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** The propagation flags of a propagation option ("rprivate": MS_PRIVATE|MS_REC); undefined for any other option. */
export function propagationFlag(opt: string): number | undefined {
  return Object.hasOwn(PROPAGATION_OPTIONS, opt) ? PROPAGATION_OPTIONS[opt] : undefined;
}

/** Attributes set (or cleared) on a mount and every mount below it, with mount_setattr(AT_RECURSIVE). */
const RECURSIVE_OPTIONS: Record<string, FlagChange> = {
  rro: { set: MOUNT_ATTR.RDONLY },
  rrw: { clear: MOUNT_ATTR.RDONLY },
  rnosuid: { set: MOUNT_ATTR.NOSUID },
  rsuid: { clear: MOUNT_ATTR.NOSUID },
  rnodev: { set: MOUNT_ATTR.NODEV },
  rdev: { clear: MOUNT_ATTR.NODEV },
  rnoexec: { set: MOUNT_ATTR.NOEXEC },
  rexec: { clear: MOUNT_ATTR.NOEXEC },
  rnodiratime: { set: MOUNT_ATTR.NODIRATIME },
  rdiratime: { clear: MOUNT_ATTR.NODIRATIME },
  rrelatime: { set: MOUNT_ATTR.RELATIME },
  rnorelatime: { clear: MOUNT_ATTR.RELATIME },
  rnoatime: { set: MOUNT_ATTR.NOATIME },
  ratime: { clear: MOUNT_ATTR.NOATIME },
  rstrictatime: { set: MOUNT_ATTR.STRICTATIME },
  rnostrictatime: { clear: MOUNT_ATTR.STRICTATIME },
  rnosymfollow: { set: MOUNT_ATTR.NOSYMFOLLOW },
  rsymfollow: { clear: MOUNT_ATTR.NOSYMFOLLOW },
};

/** The atime options of RECURSIVE_OPTIONS: the kernel wants the whole atime field cleared to set one. */
const RECURSIVE_ATIME = new Set([
  'rrelatime',
  'rnorelatime',
  'rnoatime',
  'ratime',
  'rstrictatime',
  'rnostrictatime',
]);

const IDMAP_OPTIONS = ['idmap', 'ridmap'];

/** Options runts understands (the features document lists them). */
export const KNOWN_MOUNT_OPTIONS = [
  ...Object.keys(FLAG_OPTIONS),
  ...Object.keys(PROPAGATION_OPTIONS),
  ...Object.keys(RECURSIVE_OPTIONS),
  ...IDMAP_OPTIONS,
  'tmpcopyup',
].sort();

export interface ParsedMountOptions {
  /** mount(2) flags set. */
  flags: number;
  /** mount(2) flags an option explicitly cleared ("rw", "suid", ...): a bind mount must not keep them. */
  cleared: number;
  propagation: number[];
  data: string;
  /** runc's extension: a tmpfs starts with a copy of what the directory held. */
  tmpcopyup: boolean;
  /** The r* options, for mount_setattr(AT_RECURSIVE). */
  recursive?: { set: number; clear: number } | undefined;
  /** "idmap" (top mount) or "ridmap" (every mount of an rbind). */
  idmap?: { recursive: boolean } | undefined;
}

/**
 * table[key], or undefined. A plain lookup: a name of Object.prototype such
 * as "constructor" finds a function with no set or clear, and is ignored,
 * as it always was.
 */
function lookup(table: Record<string, FlagChange>, key: string): FlagChange | undefined {
  return table[key];
}

export function parseMountOptions(options: string[] = []): ParsedMountOptions {
  let flags = 0;
  let cleared = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let tmpcopyup = false;
  let recSet = 0;
  let recClear = 0;
  let idmap: ParsedMountOptions['idmap'];
  for (const opt of options) {
    const f = lookup(FLAG_OPTIONS, opt);
    const r = lookup(RECURSIVE_OPTIONS, opt);
    const p = propagationFlag(opt);
    if (opt === 'tmpcopyup') {
      tmpcopyup = true;
    } else if (f) {
      if (f.clear) {
        flags &= ~f.clear;
        cleared |= f.clear;
      }
      if (f.set) {
        flags |= f.set;
        cleared &= ~f.set;
      }
    } else if (p !== undefined) {
      propagation.push(p);
    } else if (r) {
      // The atime attributes are one field: the last one named wins.
      if (RECURSIVE_ATIME.has(opt) && r.set !== undefined) recSet &= ~MOUNT_ATTR._ATIME;
      if (r.clear !== undefined) {
        recClear |= r.clear;
        recSet &= ~r.clear;
      }
      if (r.set !== undefined) {
        recSet |= r.set;
        recClear &= ~r.set;
      }
      if (RECURSIVE_ATIME.has(opt)) recClear |= MOUNT_ATTR._ATIME;
    } else if (opt === 'idmap' || opt === 'ridmap') {
      idmap = { recursive: opt === 'ridmap' };
    } else {
      data.push(opt);
    }
  }
  const recursive = recSet !== 0 || recClear !== 0 ? { set: recSet, clear: recClear } : undefined;
  return { flags, cleared, propagation, data: data.join(','), tmpcopyup, recursive, idmap };
}
