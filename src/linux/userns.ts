/**
 * Whether this process runs in a user namespace other than the initial one
 * (rootless podman runs its runtime as uid 0 of such a namespace). The
 * initial namespace maps the whole 32-bit range onto itself.
 */
import fs from 'node:fs';

let cached: boolean | undefined;

export function runningInUserNamespace(): boolean {
  if (cached !== undefined) return cached;
  try {
    const lines = fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split('\n');
    const only = lines.length === 1 ? lines[0]?.trim().split(/\s+/) : undefined;
    cached = !(only?.[0] === '0' && only[1] === '0' && only[2] === '4294967295');
  } catch {
    cached = false; // no procfs or no user namespaces: as runc, the initial one
  }
  return cached;
}
