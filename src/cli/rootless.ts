/**
 * runc's rootless decisions, made once per command from the environment:
 * where state lives by default, and whether cgroup permission errors are
 * tolerated (`--rootless true|false|auto`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { runningInUserNamespace } from '../linux/userns.js';
import { UsageError } from './argv.js';

const SYSTEM_ROOT = '/run/runts';

/**
 * A non-root caller (or uid 0 of a user namespace that is not root's own,
 * as under rootless podman) keeps state in $XDG_RUNTIME_DIR/runts, as runc
 * uses $XDG_RUNTIME_DIR/runc; real root keeps /run/runts.
 */
export function xdgStateRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const xdg = env.XDG_RUNTIME_DIR;
  if (!xdg) return undefined;
  const euid = process.geteuid?.() ?? 0;
  if (euid === 0) {
    if (!runningInUserNamespace()) return undefined;
    if (env.USER === 'root') return undefined;
  }
  return path.join(xdg, 'runts');
}

export function defaultStateRoot(): string {
  return xdgStateRoot() ?? SYSTEM_ROOT;
}

/**
 * The XDG state root is private to its user, with the sticky bit the XDG
 * spec asks of files that must not be pruned (as runc does for its own).
 */
export function prepareXdgStateRoot(root: string): void {
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  fs.chmodSync(root, 0o1700);
}

/** runc's parseBoolOrAuto: undefined stands for auto. */
function parseBoolOrAuto(value: string): boolean | undefined {
  if (value === '' || value === 'auto') return undefined;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new UsageError(`invalid --rootless value ${JSON.stringify(value)}: want true, false or auto`);
}

/**
 * Whether cgroup permission errors are tolerated (runc's rootless cgroup
 * manager): asked for, or auto-detected for a non-root caller and for uid 0
 * of a user namespace (cgroupfs driver; with systemd, a rootful systemd in
 * that namespace owns the cgroups, which is what runc assumes when it
 * cannot ask).
 */
export function useRootlessCgroups(flag: string, systemdCgroup: boolean): boolean {
  const asked = parseBoolOrAuto(flag);
  if (asked !== undefined) return asked;
  if ((process.geteuid?.() ?? 0) !== 0) return true;
  if (!runningInUserNamespace()) return false;
  return !systemdCgroup;
}
