/**
 * The container's processes, as `runts ps` lists them: the host pids in its
 * cgroup, and runc's filter of `ps` output down to those pids.
 */
import { UserError } from '../errors.js';
import { loadManager } from '../cgroups/index.js';
import type { StateStore } from './state-store.js';
import { statusCheck } from './status.js';

// Loaded on first use (it brings Node's stream and net modules): see process/hooks.ts.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load; import() would be asynchronous
const childProcess = () => require('node:child_process') as typeof import('node:child_process');

/** Host pids of every process in the container's cgroup (none once it is stopped and the cgroup gone). */
export function containerProcesses(store: StateStore, id: string): number[] {
  const rec = store.read(id);
  const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
  const stopped = statusCheck(store, rec).stopped;
  if (!cgroup) {
    if (stopped) return [];
    // A rootless container that could not make a cgroup: its processes are not known.
    throw new UserError('unable to get all container pids: the container has no cgroup of its own');
  }
  if (stopped && !cgroup.exists()) return [];
  try {
    return cgroup.allPids();
  } catch (e) {
    throw new UserError(`unable to get all container pids: ${(e as Error).message}`);
  }
}

/** Run `ps psArgs` and keep its header and the lines whose PID column is one of `pids`. */
export function psTable(pids: number[], psArgs: string[]): string {
  const r = childProcess().spawnSync('ps', psArgs, { encoding: 'utf8' });
  if (r.error) throw new UserError(`exec: "ps": ${r.error.message}`);
  const output = r.stdout + r.stderr;
  if (r.status !== 0) throw new UserError(`exit status ${r.status ?? 1}: ${output}`);
  const [header = '', ...lines] = r.stdout.split('\n');
  const pidIndex = header.trim().split(/\s+/).indexOf('PID');
  if (pidIndex < 0) throw new UserError("couldn't find PID field in ps output");
  const want = new Set(pids);
  let out = header + '\n';
  for (const line of lines) {
    if (line.length === 0) continue;
    const field = line.trim().split(/\s+/)[pidIndex];
    const p = Number(field);
    if (!Number.isInteger(p))
      throw new UserError(
        `unable to parse pid: strconv.Atoi: parsing ${JSON.stringify(field)}: invalid syntax`,
      );
    if (want.has(p)) out += line + '\n';
  }
  return out;
}
