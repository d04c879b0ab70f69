/**
 * The container process's identity and privileges, applied last, in the
 * order the kernel needs: bounding set while still privileged, keep caps
 * across the uid change, then the final capability sets.
 */
import fs from 'node:fs';
import { capNumber, capset, lastCap, limitBoundingSet, setAmbient } from '../linux/caps.js';
import { setgroups, setresgid, setresuid } from '../linux/creds.js';
import { PR, prctl } from '../linux/prctl.js';

interface ProcessCaps {
  bounding?: string[];
  effective?: string[];
  permitted?: string[];
  inheritable?: string[];
  ambient?: string[];
}

/** Names the kernel does not know are ignored, as runc does. */
function numbers(names: string[] | undefined): number[] {
  const last = lastCap();
  return (names ?? []).map(capNumber).filter((n): n is number => n !== undefined && n <= last);
}

export function applyCredentials(user: { uid: number; gid: number; additionalGids?: number[] }, caps: ProcessCaps | undefined, noNewPrivileges: boolean): void {
  const c = caps ?? {};
  limitBoundingSet(numbers(c.bounding));
  prctl(PR.SET_KEEPCAPS, 1, 0, 'keep capabilities');
  let setgroupsAllowed = true;
  try {
    setgroupsAllowed = fs.readFileSync('/proc/self/setgroups', 'utf8').trim() === 'allow';
  } catch {}
  if (setgroupsAllowed) setgroups(user.additionalGids ?? []);
  setresgid(user.gid);
  setresuid(user.uid);
  prctl(PR.SET_KEEPCAPS, 0, 0, 'clear keep capabilities');
  capset({ effective: numbers(c.effective), permitted: numbers(c.permitted), inheritable: numbers(c.inheritable) });
  setAmbient(numbers(c.ambient));
  if (noNewPrivileges) prctl(PR.SET_NO_NEW_PRIVS, 1, 0, 'no_new_privs');
}

/** HOME from the container's /etc/passwd when the config does not set it. */
export function homeFor(uid: number): string {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 6 && Number(f[2]) === uid && f[2] !== '') return f[5] || '/';
    }
  } catch {}
  return '/';
}
