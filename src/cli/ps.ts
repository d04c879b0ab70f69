/**
 * `runts ps [-f table|json] <id> [ps options]`, as runc: json is the list of
 * the container's host pids (from its cgroup); table runs `ps` (default
 * `-ef`) and keeps its header and the lines whose PID is the container's.
 */
import { UserError } from '../errors.js';
import { StateStore } from '../container/state-store.js';
import { containerStatus } from '../container/status.js';
import { loadManager } from '../cgroups/index.js';
import type { CommandContext } from './context.js';
import { goJson } from '../json.js';
import { writeStdout } from '../output.js';

// Loaded on first use (it brings Node's stream and net modules): see hooks.ts.
const childProcess = () => require('node:child_process') as typeof import('node:child_process');

export function containerProcesses(store: StateStore, id: string): number[] {
  const rec = store.read(id);
  const cgroup = loadManager(rec.cgroupPaths, undefined, rec.cgroupUnit);
  if (!cgroup) return [];
  if (containerStatus(store, rec) === 'stopped' && !cgroup.exists()) return [];
  try {
    return cgroup.allPids();
  } catch (e) {
    throw new UserError(`unable to get all container pids: ${(e as Error).message}`);
  }
}

export function run(ctx: CommandContext): number {
  const store = new StateStore(ctx.globals.root);
  const pids = containerProcesses(store, ctx.args[0]);
  switch (ctx.flags.format) {
    case 'table':
      break;
    case 'json':
      // Go encodes an empty (nil) slice as null.
      writeStdout(goJson(pids.length > 0 ? pids : null) + '\n');
      return 0;
    default:
      throw new UserError('invalid format option');
  }
  const psArgs = ctx.args.length > 1 ? ctx.args.slice(1) : ['-ef'];
  const r = childProcess().spawnSync('ps', psArgs, { encoding: 'utf8' });
  if (r.error) throw new UserError(`exec: "ps": ${(r.error as Error).message}`);
  const output = (r.stdout ?? '') + (r.stderr ?? '');
  if (r.status !== 0) throw new UserError(`exit status ${r.status ?? 1}: ${output}`);
  const lines = r.stdout.split('\n');
  const pidIndex = lines[0].trim().split(/\s+/).indexOf('PID');
  if (pidIndex < 0) throw new UserError("couldn't find PID field in ps output");
  const want = new Set(pids);
  let out = lines[0] + '\n';
  for (const line of lines.slice(1)) {
    if (line.length === 0) continue;
    const fields = line.trim().split(/\s+/);
    const p = Number(fields[pidIndex]);
    if (!Number.isInteger(p)) throw new UserError(`unable to parse pid: strconv.Atoi: parsing ${JSON.stringify(fields[pidIndex])}: invalid syntax`);
    if (want.has(p)) out += line + '\n';
  }
  writeStdout(out);
  return 0;
}
