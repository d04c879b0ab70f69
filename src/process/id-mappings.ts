/**
 * Writing a new user namespace's uid_map and gid_map from the parent.
 *
 * Root writes any mapping. A non-root caller may write only a mapping of
 * its own uid (and, once setgroups is denied, its own gid); anything else,
 * such as the ranges of /etc/subuid and /etc/subgid that podman passes,
 * goes through the setuid helpers newuidmap and newgidmap (Debian's uidmap
 * package), which check those files, as runc does.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { LinuxIDMapping } from '../spec/types.gen.js';
import { UserError } from '../errors.js';

type MapFile = 'uid_map' | 'gid_map';

const HELPER: Record<MapFile, string> = { uid_map: 'newuidmap', gid_map: 'newgidmap' };

function mapText(maps: LinuxIDMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join('\n') + '\n';
}

/** Just the caller's own id, once: what an unprivileged process may write itself. */
function isOwnIdOnly(maps: LinuxIDMapping[], own: number): boolean {
  const [only] = maps;
  return maps.length === 1 && only !== undefined && only.hostID === own && only.size === 1;
}

function runHelper(file: MapFile, pid: number, maps: LinuxIDMapping[]): void {
  const helper = HELPER[file];
  const args = [String(pid), ...maps.flatMap((m) => [m.containerID, m.hostID, m.size].map(String))];
  const r = spawnSync(helper, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new UserError(
      missing
        ? `${helper} not found: a rootless container mapping more than your own id needs it (apt-get install uidmap)`
        : `${helper}: ${r.error.message}`,
    );
  }
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout).trim().split('\n').pop() ?? '';
    throw new UserError(
      `${helper} ${args.join(' ')} failed (exit status ${r.status}): ${why || 'no reason given'}; ` +
        `check the ranges given to your user in /etc/${file === 'uid_map' ? 'subuid' : 'subgid'}`,
    );
  }
}

export function writeIdMappings(
  pid: number,
  uidMappings: LinuxIDMapping[] | undefined,
  gidMappings: LinuxIDMapping[] | undefined,
): void {
  const euid = process.geteuid?.() ?? 0;
  const egid = process.getegid?.() ?? 0;
  if (uidMappings?.length) {
    if (euid === 0 || isOwnIdOnly(uidMappings, euid)) writeMap(pid, 'uid_map', uidMappings);
    else runHelper('uid_map', pid, uidMappings);
  }
  if (gidMappings?.length) {
    if (euid === 0) writeMap(pid, 'gid_map', gidMappings);
    else if (isOwnIdOnly(gidMappings, egid)) {
      // The kernel lets an unprivileged process map its own gid only once it
      // gave up setgroups(2) for the namespace (a dropped group could come back).
      fs.writeFileSync(`/proc/${pid}/setgroups`, 'deny');
      writeMap(pid, 'gid_map', gidMappings);
    } else runHelper('gid_map', pid, gidMappings);
  }
}

function writeMap(pid: number, file: MapFile, maps: LinuxIDMapping[]): void {
  try {
    fs.writeFileSync(`/proc/${pid}/${file}`, mapText(maps));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    throw new UserError(
      `writing ${file} ${JSON.stringify(mapText(maps).trim())}: operation not permitted ` +
        `(a mapping must name ids this user may map)`,
      1,
      { cause: e },
    );
  }
}
