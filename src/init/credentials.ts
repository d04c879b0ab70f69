/**
 * The container process's identity and privileges, applied last, in the
 * order the kernel needs: bounding set while still privileged, keep caps
 * across the uid change, then the final capability sets.
 */
import fs from 'node:fs';
import { capNumber, capset, lastCap, limitBoundingSet, setAmbient } from '../linux/caps.js';
import { currentIdentity, setgroups, setresgid, setresuid } from '../linux/creds.js';
import { PR, prctl } from '../linux/prctl.js';
import type { LinuxCapabilities } from '../spec/types.gen.js';

type ProcessCaps = LinuxCapabilities;

/** Names the kernel does not know are ignored, as runc does. */
function numbers(names: string[] | undefined): number[] {
  const last = lastCap();
  return (names ?? []).map(capNumber).filter((n): n is number => n !== undefined && n <= last);
}

/** False in a user namespace whose setgroups is denied (the groups then stay as they are). */
export function setgroupsAllowed(): boolean {
  try {
    return fs.readFileSync('/proc/self/setgroups', 'utf8').trim() === 'allow';
  } catch {
    return true;
  }
}

type User = { uid: number; gid: number; additionalGids?: number[] };

/**
 * Never run the container's program as anyone else: the kernel's ids must
 * be exactly the ones asked for (setresuid(-1) means "leave unchanged", so
 * a uid of 4294967295 would otherwise keep root).
 */
export function verifyIdentity(user: User, groupsSet: boolean): void {
  const now = currentIdentity();
  const want = (id: number) => [id, id, id].join(',');
  const wrong: string[] = [];
  if (now.uids.join(',') !== want(user.uid))
    wrong.push(`uids (real, effective, saved) are ${now.uids.join(', ')}, not ${user.uid}`);
  if (now.gids.join(',') !== want(user.gid))
    wrong.push(`gids (real, effective, saved) are ${now.gids.join(', ')}, not ${user.gid}`);
  if (groupsSet) {
    const asked = [...new Set(user.additionalGids ?? [])].sort((a, b) => a - b);
    const have = [...new Set(now.groups)].sort((a, b) => a - b);
    if (asked.join(',') !== have.join(','))
      wrong.push(`supplementary groups are [${have.join(', ')}], not [${asked.join(', ')}]`);
  }
  if (wrong.length) throw new Error(`refusing to run the process as another identity: ${wrong.join('; ')}`);
}

export function applyCredentials(
  user: User,
  caps: ProcessCaps | undefined,
  noNewPrivileges: boolean,
  groupsAllowed = setgroupsAllowed(),
): void {
  const c = caps ?? {};
  limitBoundingSet(numbers(c.bounding));
  prctl(PR.SET_KEEPCAPS, 1, 0, 'keep capabilities');
  if (groupsAllowed) setgroups(user.additionalGids ?? []);
  setresgid(user.gid);
  setresuid(user.uid);
  verifyIdentity(user, groupsAllowed);
  prctl(PR.SET_KEEPCAPS, 0, 0, 'clear keep capabilities');
  capset({
    effective: numbers(c.effective),
    permitted: numbers(c.permitted),
    inheritable: numbers(c.inheritable),
  });
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
