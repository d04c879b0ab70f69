/**
 * Hierarchies without limits that the container joins anyway: name=systemd
 * and, on a hybrid host, the cgroup2 mount ("" subsystem). Errors are
 * ignored, as runc ignores them.
 */
import { join, noSet, type Subsystem } from './subsystem.js';

export function named(name: string): Subsystem {
  return {
    name,
    apply(dir, _r, pid) {
      try {
        join(dir, pid);
      } catch {}
    },
    set: noSet,
  };
}
