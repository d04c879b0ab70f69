/**
 * Reading and writing cgroup files the way runc's cgroups.WriteFile does:
 * one write(2) per value, errors naming the value and the file, and
 * removal of cgroup directories (sub-cgroups first, retrying while busy).
 */
import fs from 'node:fs';
import path from 'node:path';
import { sleepMs } from '../linux/sleep.js';
import { errnoOf } from '../linux/errno.js';

const U64_MAX = (1n << 64n) - 1n;

/** "EINVAL: invalid argument, write" → "invalid argument". */
function reason(e: NodeJS.ErrnoException): string {
  return /^[A-Z0-9_]+: ([^,]+)/.exec(e.message)?.at(1) ?? e.code ?? e.message;
}

/** An error from a cgroup file, with runc's wording; `code` is the errno name. */
export class CgroupFileError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CgroupFileError';
  }
}

/**
 * A cgroup operation refused for lack of permission: what a rootless
 * container may meet (a cgroupfs it does not own, or a read-only one).
 */
export function isPermissionError(e: unknown): boolean {
  return ['EPERM', 'EACCES', 'EROFS'].includes(errnoOf(e) ?? '');
}

/** A controller's directory is unknown: the subsystem is not mounted. */
export class NotMountedError extends Error {
  constructor(readonly file: string) {
    super(`no directory specified for ${file}`);
    this.name = 'NotMountedError';
  }
}

/** Throws NotMountedError without a directory: after it returns, `dir` is known to be one. */
export function writeFile(dir: string | undefined, file: string, data: string): asserts dir is string {
  if (!dir) throw new NotMountedError(file);
  const p = path.join(dir, file);
  let fd: number;
  try {
    fd = fs.openSync(p, fs.constants.O_WRONLY);
  } catch (e) {
    throw new CgroupFileError(`open ${p}: ${reason(e as NodeJS.ErrnoException)}`, errnoOf(e));
  }
  try {
    for (;;) {
      try {
        fs.writeSync(fd, data);
        return;
      } catch (e) {
        if (errnoOf(e) === 'EINTR') continue;
        throw new CgroupFileError(
          `failed to write ${JSON.stringify(data)}: write ${p}: ${reason(e as NodeJS.ErrnoException)}`,
          errnoOf(e),
        );
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

export function readFile(dir: string, file: string): string {
  const p = path.join(dir, file);
  try {
    return fs.readFileSync(p, 'utf8');
  } catch (e) {
    throw new CgroupFileError(`open ${p}: ${reason(e as NodeJS.ErrnoException)}`, errnoOf(e));
  }
}

/** Read a file, or undefined when it does not exist. */
export function readOptional(dir: string, file: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw new CgroupFileError(
      `open ${path.join(dir, file)}: ${reason(e as NodeJS.ErrnoException)}`,
      errnoOf(e),
    );
  }
}

export function exists(p: string): boolean {
  return fs.existsSync(p);
}

export function isNotExist(e: unknown): boolean {
  return (e as { code?: string }).code === 'ENOENT';
}

/** runc's ParseUint: "max" is u64 max, negative numbers clamp to 0. */
export function parseU64(s: string, where = ''): bigint {
  const t = s.trim();
  if (t === 'max') return U64_MAX;
  if (/^-\d+$/.test(t)) return 0n;
  if (!/^\d+$/.test(t))
    throw new CgroupFileError(`unable to parse ${JSON.stringify(t)} as a uint from ${where}`);
  const v = BigInt(t);
  return v > U64_MAX ? U64_MAX : v;
}

export function getU64(dir: string, file: string): bigint {
  return parseU64(readFile(dir, file), path.join(dir, file));
}

export function getI64(dir: string, file: string): bigint {
  const t = readFile(dir, file).trim();
  if (!/^-?\d+$/.test(t))
    throw new CgroupFileError(`unable to parse ${JSON.stringify(t)} as an int from ${path.join(dir, file)}`);
  return BigInt(t);
}

/** "key value" lines. */
export function parseKeyValues(text: string): Array<[string, bigint]> {
  const out: Array<[string, bigint]> = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 2) continue;
    const [key = '', value = ''] = parts;
    out.push([key, parseU64(value)]);
  }
  return out;
}

/** Value of `key` in a "key value" file (memory.events, memory.oom_control). */
export function getValueByKey(dir: string, file: string, key: string): bigint {
  for (const [k, v] of parseKeyValues(readFile(dir, file))) if (k === key) return v;
  return 0n;
}

/**
 * An integer as the kernel wants it: no exponent, no fraction. Values of config.json beyond
 * 2^53 arrive as exact bigints (src/json.ts), though typed as numbers by the spec types.
 */
export function intStr(n: number | bigint): string {
  if (typeof n === 'bigint') return n.toString();
  if (!Number.isFinite(n)) throw new Error(`invalid number ${n}`);
  return BigInt(Math.trunc(n)).toString();
}

function rmdir(p: string): boolean {
  try {
    fs.rmdirSync(p);
    return true;
  } catch (e) {
    return errnoOf(e) === 'ENOENT';
  }
}

/** Remove a cgroup directory, its sub-cgroups first (runc's RemovePath). */
export function removePath(p: string): boolean {
  if (rmdir(p)) return true;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(p, { withFileTypes: true });
  } catch (e) {
    return errnoOf(e) === 'ENOENT';
  }
  for (const d of entries) if (d.isDirectory() && !removePath(path.join(p, d.name))) return false;
  return rmdir(p);
}

/**
 * Remove every path, retrying five times with a growing delay (a process
 * that was just killed may still be leaving). Throws naming what is left.
 */
export function removePaths(paths: string[]): void {
  let left = [...new Set(paths)];
  let delay = 10;
  for (let i = 0; i < 5 && left.length > 0; i++) {
    if (i > 0) {
      sleepMs(delay);
      delay *= 2;
    }
    left = left.filter((p) => {
      removePath(p);
      return fs.existsSync(p);
    });
  }
  if (left.length > 0) throw new CgroupFileError(`Failed to remove paths: ${left.join(' ')}`);
}

/** cgroup.procs of `dir` as numbers. */
export function readProcs(dir: string, file = 'cgroup.procs'): number[] {
  const text = readFile(dir, file);
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => Number(l));
}

/** Every pid in `dir` and its sub-cgroups (runc's GetAllPids). */
export function allPids(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string) => {
    pids.push(...readProcs(d));
    for (const e of fs.readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory()) walk(path.join(d, e.name));
  };
  walk(dir);
  return pids;
}

/** Write a pid to cgroup.procs, retrying EINVAL (a task still in TASK_NEW). */
export function writeProc(dir: string, pid: number): void {
  if (pid === -1) return; // create only
  for (let i = 0; ; i++) {
    try {
      writeFile(dir, 'cgroup.procs', String(pid));
      return;
    } catch (e) {
      if (errnoOf(e) === 'EINVAL' && i < 5) {
        sleepMs(30);
        continue;
      }
      throw e;
    }
  }
}
