/**
 * The container's seccomp filter: linux.seccomp of config.json compiled the
 * way runc compiles it (libcontainer/seccomp and specconv), installed by the
 * init as late as possible.
 *
 * Two steps, because libseccomp must be loaded and errors must reach
 * `create` while the host's files are still there, and the filter must
 * constrain as few of the init's own calls as possible:
 *
 * 1. prepareSeccomp (before pivot_root, before `ready`): validate, build the
 *    filter with libseccomp, export its BPF program into native memory,
 *    connect to the seccomp agent (listenerPath) and build the message.
 * 2. installSeccomp (in execProcess): seccomp(2), then, with SCMP_ACT_NOTIFY
 *    rules, the listener fd and the container state go to the agent in one
 *    sendmsg. Without noNewPrivileges installing needs CAP_SYS_ADMIN, so it
 *    happens just before the credentials change (as in runc); with it, just
 *    before execve.
 *
 * Differences from runc, on purpose:
 * - runc's parent sends the listener fd during `create`; the runts init
 *   sends it itself just before execve (at `start`), since the filter is
 *   only installed then. The agent gets it before the container's program
 *   makes any call, with the same message runc sends (state "creating").
 * - SCMP_ACT_NOTIFY on sendmsg is refused, as runc refuses it on write: the
 *   init could never hand the fd to the agent.
 *
 * As in runc: SECCOMP_FILTER_FLAG_TSYNC is accepted and ignored (the other
 * threads of the init are Node's, and execve ends them);
 * WAIT_KILLABLE_RECV only applies with a listener.
 */
import type { LinuxSeccomp } from '../spec/types.gen.js';
import {
  ACT,
  ACTION_BASE,
  ATTR,
  BpfProgram,
  CMP,
  FdMessage,
  FILTER_FLAG,
  FLAG_BITS,
  Filter,
  archToken,
  flagSupported,
  kernelHasFilterFlag,
  libseccompVersion,
  resolveSyscall,
  type ArgCmp,
} from '../linux/seccomp.js';
export {
  SECCOMP_ACTIONS,
  SECCOMP_KNOWN_FLAGS,
  SECCOMP_OPERATORS,
  seccompFeatures,
} from '../linux/seccomp.js';
import { connectUnix } from '../linux/socket.js';
import { enosysStub, lastSyscalls, wantsEnosysStub } from './seccomp-enosys.js';
import fs from 'node:fs';

const EPERM = 1;

/** The action value; errnoRet defaults to EPERM for ERRNO and TRACE, as in runc. */
function actionValue(name: string, errnoRet: number | undefined, where: string): number {
  switch (name) {
    case 'SCMP_ACT_ERRNO':
      return ACT.errno(errnoRet ?? EPERM);
    case 'SCMP_ACT_TRACE':
      return ACT.trace(errnoRet ?? EPERM);
    default: {
      const base = ownValue(ACTION_BASE, name);
      if (base === undefined) throw new Error(`seccomp: ${where}: invalid action ${JSON.stringify(name)}`);
      return base;
    }
  }
}

/** table[key] for the table's own keys only ("constructor" is no seccomp name). */
function ownValue(table: Readonly<Partial<Record<string, number>>>, key: string): number | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

const U64_MAX = (1n << 64n) - 1n;
/** An argument value: values past 2^53 arrive as exact bigints (src/json.ts). */
function u64(v: number | bigint | undefined): bigint {
  if (v === undefined) return 0n;
  const b = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
  if (b > U64_MAX) return U64_MAX;
  return BigInt.asUintN(64, b);
}

export interface CompiledSeccomp {
  program: BpfProgram;
  /** seccomp(2) flags, NEW_LISTENER included when a rule notifies. */
  flags: number;
  notify: boolean;
  /** Rules skipped because libseccomp does not know the syscall name. */
  skipped: string[];
}

/**
 * Compile linux.seccomp; undefined when it asks for nothing (no default
 * action and no rules, as runc treats it). Throws on anything runc refuses.
 */
export function compileSeccomp(config: LinuxSeccomp | undefined): CompiledSeccomp | undefined {
  // (runc also treats a profile with neither a default action nor rules as
  // none; the schema requires defaultAction, so a profile here asks for something.)
  if (!config) return undefined;

  let flags = 0;
  // (A null in config.json is an absent member: src/spec/load.ts drops it, as Go does.)
  if (config.flags === undefined) {
    // runc's default when flags are not given at all: SPEC_ALLOW, where the kernel has it.
    if (kernelHasFilterFlag(FILTER_FLAG.SPEC_ALLOW)) flags |= FILTER_FLAG.SPEC_ALLOW;
  } else {
    for (const f of config.flags) {
      const bit = ownValue(FLAG_BITS, f);
      if (bit === undefined) throw new Error(`seccomp flag ${f} is not known to runts`);
      if (!flagSupported(f)) throw new Error(`seccomp flag ${f} is not supported by this kernel`);
      if (f !== 'SECCOMP_FILTER_FLAG_TSYNC') flags |= bit;
    }
  }

  if (config.defaultAction === 'SCMP_ACT_NOTIFY')
    throw new Error('SCMP_ACT_NOTIFY cannot be used as default action');
  const defaultAction = actionValue(config.defaultAction, config.defaultErrnoRet, 'defaultAction');

  let notify = false;
  for (const [i, rule] of (config.syscalls ?? []).entries()) {
    if (rule.action !== 'SCMP_ACT_NOTIFY') continue;
    notify = true;
    for (const name of ['write', 'sendmsg']) {
      if (rule.names.includes(name)) {
        throw new Error(`seccomp: syscalls[${i}]: SCMP_ACT_NOTIFY cannot be used for the ${name} syscall`);
      }
    }
  }
  if (notify && !config.listenerPath)
    throw new Error('seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath');
  if (notify) {
    if (!kernelHasFilterFlag(FILTER_FLAG.NEW_LISTENER))
      throw new Error('seccomp notify is not supported by this kernel');
    flags |= FILTER_FLAG.NEW_LISTENER;
  } else {
    // The kernel takes it only with a listener (libseccomp drops it the same way).
    flags &= ~FILTER_FLAG.WAIT_KILLABLE_RECV;
  }

  const filter = new Filter(defaultAction);
  const skipped: string[] = [];
  try {
    for (const arch of config.architectures ?? []) {
      const token = archToken(arch);
      if (token === 0)
        throw new Error(
          `seccomp: architecture ${arch} is not supported by libseccomp ${libseccompVersion()}`,
        );
      filter.addArch(token, arch);
    }
    const ruleCount = (config.syscalls ?? []).reduce((n, r) => n + r.names.length, 0);
    if (ruleCount > 32) {
      // libseccomp's binary tree: shorter paths through long profiles (runc does the same).
      try {
        filter.setAttr(ATTR.CTL_OPTIMIZE, 2, 'binary tree optimization');
      } catch {}
    }
    for (const [i, rule] of (config.syscalls ?? []).entries()) {
      const where = `syscalls[${i}]`;
      const action = actionValue(rule.action, rule.errnoRet, where);
      const conds: ArgCmp[] = (rule.args ?? []).map((a, j) => {
        const op = ownValue(CMP, a.op);
        if (op === undefined)
          throw new Error(`seccomp: ${where}.args[${j}]: invalid operator ${JSON.stringify(a.op)}`);
        if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) {
          throw new Error(`seccomp: ${where}.args[${j}]: index must be between 0 and 5`);
        }
        return { arg: a.index, op, a: u64(a.value), b: u64(a.valueTwo) };
      });
      // libseccomp ANDs the conditions of one rule but takes one condition per
      // argument: several on the same argument become one rule each (OR), as runc does.
      const perArg = new Map<number, number>();
      for (const c of conds) perArg.set(c.arg, (perArg.get(c.arg) ?? 0) + 1);
      const split = [...perArg.values()].some((n) => n > 1);
      for (const name of rule.names) {
        if (action === defaultAction) continue; // redundant, and libseccomp refuses it
        const nr = resolveSyscall(name);
        if (nr === undefined) {
          skipped.push(name); // unknown to this libseccomp: not an error, as in runc
          continue;
        }
        if (split) for (const c of conds) filter.addRule(action, nr, [c], `${name} (${where})`);
        else filter.addRule(action, nr, conds, `${name} (${where})`);
      }
    }
    let program = filter.exportBpf();
    if (wantsEnosysStub(config.defaultAction, config.defaultErrnoRet ?? undefined)) {
      const names = (config.syscalls ?? []).flatMap((r) => r.names);
      program = Buffer.concat([enosysStub(lastSyscalls(config.architectures ?? [], names)), program]);
    }
    return { program: new BpfProgram(program), flags, notify, skipped };
  } finally {
    filter.release();
  }
}

/** The state a seccomp agent receives with the listener fd (runc's ContainerProcessState). */
export interface ListenerState {
  ociVersion: string;
  /** Host pid of the process whose filter it is. */
  pid: number;
  metadata?: string | undefined;
  state: {
    ociVersion: string;
    id: string;
    status: string;
    pid?: number | undefined;
    bundle: string;
    annotations?: Record<string, string | undefined> | undefined;
  };
}

/** JSON with runc's field order and omissions (Go's encoding of specs.ContainerProcessState). */
export function listenerPayload(s: ListenerState): string {
  const state: Record<string, unknown> = {
    ociVersion: s.state.ociVersion,
    id: s.state.id,
    status: s.state.status,
  };
  if (s.state.pid) state.pid = s.state.pid;
  state.bundle = s.state.bundle;
  if (s.state.annotations && Object.keys(s.state.annotations).length) state.annotations = s.state.annotations;
  const doc: Record<string, unknown> = { ociVersion: s.ociVersion, fds: ['seccompFd'], pid: s.pid };
  if (s.metadata) doc.metadata = s.metadata;
  doc.state = state;
  return JSON.stringify(doc);
}

export interface PreparedSeccomp {
  compiled: CompiledSeccomp;
  /** Connected to listenerPath, when a rule notifies. */
  listener?: { socket: number; message: FdMessage };
}

/**
 * Compile and, for notify rules, connect to the agent. Call before
 * pivot_root (or setns into the mount namespace): listenerPath is a host
 * path and libseccomp a host library. `state` is only called when an agent
 * is configured.
 */
export function prepareSeccomp(
  config: LinuxSeccomp | undefined,
  state: () => ListenerState,
): PreparedSeccomp | undefined {
  const compiled = compileSeccomp(config);
  if (!compiled || !config) return undefined;
  if (!compiled.notify) return { compiled };
  // compileSeccomp refuses notify rules without a listenerPath.
  const listenerPath = config.listenerPath ?? '';
  let socket: number;
  try {
    socket = connectUnix(listenerPath);
  } catch (e) {
    throw new Error(
      `failed to connect with seccomp agent specified in the seccomp profile: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const s = state();
  return {
    compiled,
    listener: {
      socket,
      message: new FdMessage(listenerPayload({ ...s, metadata: config.listenerMetadata })),
    },
  };
}

/**
 * Install the filter on the calling thread (no_new_privs set, or
 * CAP_SYS_ADMIN held), then hand the listener fd to the agent and close
 * both. After this only the few calls up to execve remain.
 */
export function installSeccomp(p: PreparedSeccomp): void {
  const fd = p.compiled.program.install(p.compiled.flags);
  if (!p.listener) return;
  try {
    p.listener.message.send(p.listener.socket, fd);
  } finally {
    fs.closeSync(fd);
    fs.closeSync(p.listener.socket);
  }
}
