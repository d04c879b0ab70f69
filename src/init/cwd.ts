/**
 * process.cwd, as runc's init handles it, before the init reports `ready`
 * (so a bad cwd fails create or exec, not the container's process later):
 *
 * - createCwd: a missing cwd is made (mkdir -p, 0755, owned by the
 *   container's root) once the init is inside the container's root, and
 *   before the root is made read-only; a component that is a file fails.
 * - enterCwd: chdir while still root, so a cwd that only root can reach
 *   works; a permission error is left for enterCwdAsUser, after the
 *   credentials change (a cwd only the process's user can reach, e.g. a
 *   volume chowned to it).
 */
import fs from 'node:fs';
import path from 'node:path';

/** Go's wording of a Node fs error ("no such file or directory"), as runc prints it. */
function describe(e: unknown): string {
  const err = e as Partial<NodeJS.ErrnoException>;
  const m = /^[A-Z0-9]+: ([^,]+),/.exec(err.message ?? '');
  return m?.[1] ?? err.code ?? String(e);
}

/** mkdir -p `cwd` in the current root (the init is inside the container's root: no path can leave it). */
export function createCwd(cwd: string | undefined): void {
  if (!cwd) return;
  let p = '';
  for (const c of path.posix.normalize(cwd).split('/').filter(Boolean)) {
    p += `/${c}`;
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(p);
    } catch {}
    if (st?.isDirectory()) continue;
    if (st) throw new Error(`mkdir ${p}: not a directory`);
    try {
      fs.mkdirSync(p, 0o755);
    } catch (e) {
      if (
        (e as NodeJS.ErrnoException).code === 'EEXIST' &&
        fs.statSync(p, { throwIfNoEntry: false })?.isDirectory()
      )
        continue;
      throw new Error(`mkdir ${p}: ${describe(e)}`, { cause: e });
    }
  }
}

function chdirError(cwd: string, e: unknown): Error {
  return new Error(`chdir to cwd (${JSON.stringify(cwd)}) set in config.json failed: ${describe(e)}`);
}

/** chdir(cwd) with the init's privileges: true when done, false when only a permission error stopped it. */
export function enterCwd(cwd: string | undefined): boolean {
  try {
    process.chdir(cwd || '/');
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return false;
    throw chdirError(cwd || '/', e);
  }
}

/** The second try, with the process's own credentials (see enterCwd). */
export function enterCwdAsUser(cwd: string | undefined): void {
  try {
    process.chdir(cwd || '/');
  } catch (e) {
    throw chdirError(cwd || '/', e);
  }
}
