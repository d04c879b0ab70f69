/** execve(2), with argv and envp built as NULL-terminated arrays in native memory. */
import { AT_EMPTY_PATH } from './at-calls.js';
import { DataType, libcFunction } from './libc.js';
import { NativeBlock } from './memory.js';

const execveCall = libcFunction('execve', DataType.I32, [DataType.String, DataType.I64, DataType.I64]);

/** Prepared before pivot_root/seccomp, so the final call allocates nothing. */
export interface PreparedExec {
  path: string;
  argv: bigint;
  envp: bigint;
}

export function prepareExec(path: string, args: string[], env: string[]): PreparedExec {
  const size =
    [...args, ...env].reduce((n, s) => n + Buffer.byteLength(s) + 32, 1024) + 8 * (args.length + env.length);
  const b = new NativeBlock(size);
  execveCall.define();
  return { path, argv: b.cStringArray(args), envp: b.cStringArray(env) };
}

/** Returns only by throwing. */
export function execve(p: PreparedExec): never {
  execveCall([p.path, Number(p.argv), Number(p.envp)], p.path);
  throw new Error('execve returned');
}

const execveatCall = libcFunction('execveat', DataType.I32, [
  DataType.I32,
  DataType.String,
  DataType.I64,
  DataType.I64,
  DataType.I32,
]);

/** Prepared as prepareExec, for execveFd. */
export function prepareExecFd(args: string[], env: string[]): PreparedExec {
  execveatCall.define();
  return prepareExec('', args, env);
}

/** execveat(fd, "", argv, envp, AT_EMPTY_PATH): run the file open as `fd`. Returns only by throwing. */
export function execveFd(fd: number, p: PreparedExec, what: string): never {
  execveatCall([fd, '', Number(p.argv), Number(p.envp), AT_EMPTY_PATH], what);
  throw new Error('execveat returned');
}
