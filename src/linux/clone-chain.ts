/**
 * Start a child process that runs a fixed list of libc calls, without any
 * JavaScript: V8's heap is MADV_DONTFORK, so a cloned child cannot run JS
 * (see docs/process-model.md). glibc's clone() runs setcontext(uc0)
 * in the child; each ucontext calls one libc function with up to six integer
 * arguments and continues with its uc_link. The last step must not return
 * (execve, then _exit).
 *
 * The chain cannot check return values: keep it to what must happen before
 * a fresh runts process can run (wait for the parent, become root of a new
 * user namespace, join a user namespace, execve).
 */
import { UCONTEXT } from './abi-x86_64.js';
import { DataType, libcFunction } from './libc.js';
import type { NativeBlock } from './memory.js';

const STACK_SIZE = 64 * 1024;

const dlsym = libcFunction<bigint>(
  'dlsym',
  DataType.BigInt,
  [DataType.I64, DataType.String],
  (p) => p === 0n,
);
const getcontext = libcFunction('getcontext', DataType.I32, [DataType.I64]);
const makecontext = libcFunction<undefined>(
  'makecontext',
  DataType.Void,
  [
    DataType.I64,
    DataType.I64,
    DataType.I32,
    DataType.I64,
    DataType.I64,
    DataType.I64,
    DataType.I64,
    DataType.I64,
    DataType.I64,
  ],
  () => false,
);
const clone = libcFunction('clone', DataType.I32, [DataType.I64, DataType.I64, DataType.I32, DataType.I64]);

const symbolCache = new Map<string, bigint>();
function symbol(name: string): bigint {
  let a = symbolCache.get(name);
  if (a === undefined) {
    a = dlsym([0, name], name);
    symbolCache.set(name, a);
  }
  return a;
}

export interface ChainStep {
  /** A libc function name, e.g. "execve". */
  fn: string;
  /** Integer or pointer arguments (at most six). */
  args: Array<number | bigint>;
}

export const SIGCHLD = 17;

/** Lay out one ucontext per step, linked by uc_link; returns the first one's address. */
function buildContexts(steps: ChainStep[], block: NativeBlock): bigint {
  const contexts = steps.map((step) => ({ step, ctx: block.alloc(UCONTEXT.SIZE) }));
  contexts.forEach(({ step, ctx }, i) => {
    if (step.args.length > 6) throw new Error(`${step.fn}: at most six arguments in a clone chain`);
    const stack = block.alloc(STACK_SIZE);
    getcontext([Number(ctx.address)], 'ucontext');
    block.view.writeBigUInt64LE(contexts.at(i + 1)?.ctx.address ?? 0n, ctx.offset + UCONTEXT.LINK);
    block.view.writeBigUInt64LE(stack.address, ctx.offset + UCONTEXT.STACK_SP);
    block.view.writeBigUInt64LE(BigInt(STACK_SIZE), ctx.offset + UCONTEXT.STACK_SIZE);
    const args = [...step.args.map((a) => BigInt(a)), 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6);
    makecontext([Number(ctx.address), Number(symbol(step.fn)), step.args.length, ...args.map(Number)]);
  });
  const first = contexts.at(0);
  if (!first) throw new Error('empty clone chain');
  return first.ctx.address;
}

/**
 * A chain step that clones a grandchild running `steps` (for namespaces
 * that must be created after the chain joined a user namespace).
 */
export function cloneStep(flags: number, steps: ChainStep[], block: NativeBlock): ChainStep {
  const first = buildContexts(steps, block);
  const stack = block.alloc(STACK_SIZE);
  return {
    fn: 'clone',
    args: [symbol('setcontext'), stack.address + BigInt(STACK_SIZE), flags | SIGCHLD, first],
  };
}

/**
 * clone(2) a child with `flags` (| SIGCHLD) that runs `steps` in order.
 * Returns the child's pid (in the caller's PID namespace).
 */
export function cloneChain(flags: number, steps: ChainStep[], block: NativeBlock): number {
  const first = buildContexts(steps, block);
  const childStack = block.alloc(STACK_SIZE);
  const stackTop = childStack.address + BigInt(STACK_SIZE);
  return clone([Number(symbol('setcontext')), Number(stackTop), flags | SIGCHLD, Number(first)], 'child');
}
