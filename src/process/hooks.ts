/**
 * OCI hooks: each runs with the container's state on stdin, its own args
 * (args[0] is argv[0]) and env, and an optional timeout in seconds. A hook
 * that fails or times out fails the operation it belongs to, except
 * poststart and poststop hooks: those warn, and the next hooks still run.
 */
import { UserError } from '../errors.js';
import { debug } from '../output.js';
import type { Hook, Hooks } from '../spec/types.gen.js';

// Loaded on first use: child_process brings Node's stream and net modules
// (~7 ms of every `create` here), and most containers have no hooks.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load; import() would be asynchronous
const childProcess = () => require('node:child_process') as typeof import('node:child_process');

/** The runtime-spec's hook lists, by name. */
export type HookName = keyof Hooks;

/**
 * What a hook without an `env` of its own runs with, and where. runc runs
 * hooks with Go's exec.Cmd and the config's env, which when absent (nil)
 * means the runtime's own environment: runc's on the host (create and run
 * from the bundle directory, which runc makes its working directory), and
 * in the init the container process's (createContainer from the rootfs,
 * startContainer from the process's cwd).
 */
export interface HookContext {
  env: Record<string, string | undefined>;
  cwd?: string | undefined;
}

/** Hooks run by runts itself: its environment, and `cwd` (the bundle for create and run). */
export function hostHooks(cwd?: string): HookContext {
  return { env: process.env, cwd };
}

/** KEY=value strings as an environment record (a repeated key: the last wins, as Go's exec does). */
export function envRecord(list: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of list) {
    const eq = e.indexOf('=');
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return env;
}

/** Run one hook; throws a UserError naming the hook when it fails or times out. */
function runHook(kind: HookName, hook: Hook, input: string, where: HookContext): void {
  debug(`running ${kind} hook ${hook.path}`);
  const args = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  const r = childProcess().spawnSync(hook.path, args.slice(1), {
    argv0: args[0],
    env: hook.env ? envRecord(hook.env) : where.env,
    cwd: where.cwd,
    input,
    timeout: hook.timeout ? hook.timeout * 1000 : undefined,
    killSignal: 'SIGKILL',
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 16 * 1024 * 1024,
  });
  // Null when the hook could not be started at all.
  const text = (b: Buffer | null) => b?.toString().trim() ?? '';
  const out = `stdout: ${text(r.stdout)}, stderr: ${text(r.stderr)}`;
  // A hook need not read the state: EPIPE on its stdin is not a failure.
  const error: NodeJS.ErrnoException | undefined = r.error;
  const code = error?.code;
  if (r.error && code !== 'EPIPE') {
    if (code === 'ETIMEDOUT')
      throw new UserError(`${kind} hook ${hook.path}: timed out after ${hook.timeout}s`);
    throw new UserError(`${kind} hook ${hook.path}: ${code ?? r.error.message}`);
  }
  if (r.signal) throw new UserError(`${kind} hook ${hook.path}: killed by ${r.signal}, ${out}`);
  if (r.status !== 0) throw new UserError(`${kind} hook ${hook.path}: exit status ${r.status}, ${out}`);
}

/** Run hooks in order; the first that fails stops the list and fails the operation. */
export function runHooks(
  kind: HookName,
  hooks: Hook[] | undefined,
  state: Record<string, unknown>,
  where: HookContext,
): void {
  // The state carries the annotations, megabytes in some configs: written only when needed.
  if (!hooks || hooks.length === 0) return;
  const input = JSON.stringify(state);
  for (const hook of hooks) runHook(kind, hook, input, where);
}

/**
 * Hooks whose failure must not stop anything (poststart, poststop): the
 * runtime-spec asks for a warning and the remaining hooks still run.
 */
export function runHooksWarning(
  kind: HookName,
  hooks: Hook[] | undefined,
  state: Record<string, unknown>,
  where: HookContext,
  warn: (msg: string) => void,
): void {
  const input = JSON.stringify(state);
  for (const hook of hooks ?? []) {
    try {
      runHook(kind, hook, input, where);
    } catch (e) {
      warn((e as Error).message);
    }
  }
}
