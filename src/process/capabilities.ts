/**
 * A process's capabilities checked on the host side, before its init or
 * exec'ed process starts (runc does these in its init, where a failure
 * still fails create; here they need nothing from inside the container):
 *
 * - names the kernel does not know (a newer kernel's, a typo) are ignored
 *   with runc's warning, as runtime-spec 1.1 asks; the init skips them too;
 * - a capability outside the runtime's own bounding set cannot be granted
 *   (capset fails with EPERM, in a user namespace too: its root gets only
 *   the bounding set at execve), so it fails here with its name.
 */
import { UserError } from '../errors.js';
import { boundingSet, capNumber, lastCap } from '../linux/caps.js';
import type { LinuxCapabilities } from '../spec/types.gen.js';

type ProcessCaps = LinuxCapabilities;

const SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;
/** The sets capset refuses to raise beyond the bounding set (dropping from bounding and raising ambient never fail). */
const GRANTED = ['effective', 'permitted', 'inheritable'] as const;

export function checkCapabilities(
  caps: ProcessCaps | undefined,
  warn: (msg: string) => void,
  own: () => number[] = boundingSet,
): void {
  if (!caps) return;
  const last = lastCap();
  const known = (name: string) => {
    const n = capNumber(name);
    return n !== undefined && n <= last ? n : undefined;
  };
  const unknown = new Set<string>();
  for (const set of SETS)
    for (const name of caps[set] ?? []) if (known(name) === undefined) unknown.add(name);
  // runc's wording (a Go slice of the sorted names).
  if (unknown.size > 0)
    warn(`ignoring unknown or unavailable capabilities: [${[...unknown].sort().join(' ')}]`);

  const have = new Set(own());
  const missing = new Map<string, string[]>();
  for (const set of GRANTED) {
    for (const name of caps[set] ?? []) {
      const n = known(name);
      if (n === undefined || have.has(n)) continue;
      missing.set(name, [...(missing.get(name) ?? []), set]);
    }
  }
  if (missing.size > 0) {
    const list = [...missing].map(([name, sets]) => `${name} (${sets.join(', ')})`).join(', ');
    throw new UserError(
      `unable to apply caps: operation not permitted: not in runts' own capability bounding set: ${list}`,
    );
  }
}
