/**
 * linux.resources.unified: cgroup v2 files written as given. A key must be
 * a plain file name of the container's own cgroup (no "/", no ".."): the
 * write can never reach another cgroup.
 */
import { writeFile } from '../fsutil.js';
import { errnoOf } from '../../linux/errno.js';

export function validateUnifiedKey(k: string): void {
  if (k.includes('/') || k === '.' || k === '..' || k === '' || k.includes('\0')) {
    throw new Error(`unified resource ${JSON.stringify(k)} must be a file name (no slashes)`);
  }
}

export function setUnified(
  dir: string,
  unified: Record<string, string> | undefined,
  controllers: Set<string>,
): void {
  if (!unified) return;
  for (const [k, v] of Object.entries(unified)) {
    validateUnifiedKey(k);
    try {
      writeFile(dir, k, v);
    } catch (e) {
      const code = errnoOf(e);
      if (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT') {
        const dot = k.indexOf('.');
        if (dot < 0)
          throw new Error(`unified resource ${JSON.stringify(k)} must be in the form CONTROLLER.PARAMETER`, {
            cause: e,
          });
        const c = k.slice(0, dot);
        if (!controllers.has(c) && c !== 'cgroup')
          throw new Error(
            `unified resource ${JSON.stringify(k)} can't be set: controller ${JSON.stringify(c)} not available`,
            { cause: e },
          );
      }
      throw new Error(`unable to set unified resource ${JSON.stringify(k)}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
}
