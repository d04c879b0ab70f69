/**
 * The one place that talks to ffi-rs: opens shared libraries and declares
 * typed C functions whose failures become SyscallError. Nothing above
 * src/linux/ imports ffi-rs.
 *
 * ffi-rs (a native addon) is loaded on the first call, not at import: the
 * commands that never call C (state, list, spec) then do not pay for it.
 * The init calls C before pivot_root, so the addon and libc are loaded
 * while the host's files are still reachable.
 */
import { createRequire } from 'node:module';
import type * as FfiRs from 'ffi-rs';
import { assertSupportedArch } from './arch.js';
import { SyscallError } from './errno.js';

/** ffi-rs's DataType values, so declaring a function does not load the addon. */
export const DataType = {
  String: 0,
  I32: 1,
  Double: 2,
  Void: 7,
  I64: 8,
  U8: 9,
  U8Array: 10,
  External: 11,
  U64: 12,
  BigInt: 16,
  U32: 20,
} as const;
/**
 * A C type a function is declared with: one of DataType's values. A value
 * that is not ffi-rs's value of the same name maps to never here, and every
 * declaration using it fails to compile.
 */
export type CType = SameAsFfiRs<typeof DataType>[keyof typeof DataType];
type SameAsFfiRs<T> = {
  [K in keyof T]: K extends keyof typeof FfiRs.DataType
    ? T[K] extends (typeof FfiRs.DataType)[K]
      ? T[K]
      : never
    : never;
};
export type JsExternal = FfiRs.JsExternal;

/** The gateway's one conversion from CType to ffi-rs's enum (same numbers, checked above). */
function ffiType(t: CType): FfiRs.DataType {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the one place our plain numbers become ffi-rs's enum (same values: see DataType)
  return t;
}

let ffiModule: typeof FfiRs | undefined;
/** The ffi-rs module, loaded on first use (after checking that runts has this architecture's ABI). */
export function ffi(): typeof FfiRs {
  if (ffiModule) return ffiModule;
  assertSupportedArch();
  ffiModule = loadFfi();
  return ffiModule;
}

/** What runts uses of the glibc addon that ffi-rs's index.js wraps. */
interface FfiRsAddon {
  DataType: Record<string, number>;
  FFITypeTag: { Array: number };
  open: typeof FfiRs.open;
  close: typeof FfiRs.close;
  isNullPointer: typeof FfiRs.isNullPointer;
  createExternalBuffer: typeof FfiRs.createExternalBuffer;
  load(params: LoadParams): unknown;
}
interface LoadParams {
  paramsType?: unknown[];
  paramsValue: unknown[];
  freeResultMemory?: boolean;
  [other: string]: unknown;
}

/**
 * ffi-rs's own index.js picks its addon by asking process.report whether libc
 * is musl: a full diagnostic report (it reads /proc/cpuinfo and more), 15-20 ms
 * of every runts start that calls C, twice per container (runts and its init).
 * runts needs glibc anyway (the clone chain uses glibc's ucontext layout), so
 * it loads the glibc addon directly and keeps the few wrappers of index.js it
 * uses; if that addon is missing it goes through index.js.
 */
function loadFfi(): typeof FfiRs {
  const requireHere = createRequire(import.meta.url);
  let addon: FfiRsAddon;
  try {
    const requireFromFfiRs = createRequire(requireHere.resolve('ffi-rs'));
    addon = requireFromFfiRs(`@yuuang/ffi-rs-linux-${process.arch}-gnu`) as FfiRsAddon;
  } catch {
    return requireHere('ffi-rs') as typeof FfiRs;
  }
  const { DataType: types, FFITypeTag } = addon;
  const arrayTypes = [
    types.I16Array,
    types.I32Array,
    types.StringArray,
    types.DoubleArray,
    types.U8Array,
    types.FloatArray,
  ];
  // As index.js: array parameters carry their length.
  const withArrayLengths = (params: LoadParams): LoadParams => {
    if (params.paramsType)
      params.paramsType = params.paramsType.map((t, i) =>
        arrayTypes.includes(t as number)
          ? {
              ffiTypeTag: FFITypeTag.Array,
              type: t,
              length: (params.paramsValue[i] as { length: number }).length,
            }
          : t,
      );
    return params;
  };
  const load = (params: LoadParams): unknown => {
    params.freeResultMemory ??= false;
    return addon.load(withArrayLengths(params));
  };
  const define = (obj: Record<string, object>) =>
    Object.fromEntries(
      Object.entries(obj).map(([funcName, desc]) => [
        funcName,
        (paramsValue: unknown[] = []) => load({ ...desc, funcName, paramsValue }),
      ]),
    );
  return {
    open: addon.open,
    close: addon.close,
    isNullPointer: addon.isNullPointer,
    createExternalBuffer: addon.createExternalBuffer,
    load,
    define,
  } as unknown as typeof FfiRs;
}

const openedLibraries = new Set<string>();
/** dlopen a library under a name (libc is opened on first use). */
export function openLibrary(library: string, path: string): void {
  if (openedLibraries.has(library)) return;
  ffi().open({ library, path });
  openedLibraries.add(library);
}

interface RawResult {
  value: unknown;
  errnoCode: number;
}
type RawFn = (args: unknown[]) => RawResult;

const cache = new Map<string, RawFn>();

function defineRaw(
  library: string,
  name: string,
  retType: CType,
  paramsType: readonly CType[],
  errno: boolean,
): RawFn {
  // one C function may be declared with several signatures (syscall)
  const key = `${library}:${name}:${JSON.stringify([retType, paramsType])}:${errno}`;
  let raw = cache.get(key);
  if (!raw) {
    if (library === 'libc') openLibrary('libc', 'libc.so.6');
    const desc = { library, retType: ffiType(retType), paramsType: paramsType.map(ffiType), errno };
    const defined = Object.values(ffi().define({ [name]: desc })).at(0);
    if (defined === undefined) throw new Error(`ffi-rs did not define ${name}`);
    raw = defined as unknown as RawFn;
    cache.set(key, raw);
  }
  return raw;
}

/** A declared C function; `define()` binds it now (declaring allocates: not where memory may be short). */
export type CFunction<R> = ((args: unknown[], subject?: string) => R) & { define(): void };

const isMinusOne = (v: unknown): boolean => v === -1;

/**
 * Declare a C function `symbol` of `library` (opened with openLibrary, or
 * 'libc'). The returned function throws SyscallError named `errorName`
 * when `failed(value)` says the call failed (by default: value === -1).
 */
function declare<R>(
  library: string,
  symbol: string,
  errorName: string,
  retType: CType,
  paramsType: readonly CType[],
  failed: (value: R) => boolean,
): CFunction<R> {
  let call: RawFn | undefined;
  const fn = (args: unknown[], subject?: string): R => {
    call ??= defineRaw(library, symbol, retType, paramsType, true);
    const r = call(args);
    if (failed(r.value as R)) throw new SyscallError(errorName, r.errnoCode, subject);
    return r.value as R;
  };
  return Object.assign(fn, {
    define: () => void (call ??= defineRaw(library, symbol, retType, paramsType, true)),
  });
}

/** Declare a C function of `library`; see declare(). */
export function libraryFunction<R = number>(
  library: string,
  name: string,
  retType: CType,
  paramsType: readonly CType[],
  failed: (value: R) => boolean = isMinusOne,
): CFunction<R> {
  return declare(library, name, name, retType, paramsType, failed);
}

/** Declare a libc function; see declare(). */
export function libcFunction<R = number>(
  name: string,
  retType: CType,
  paramsType: readonly CType[],
  failed: (value: R) => boolean = isMinusOne,
): CFunction<R> {
  return declare('libc', name, name, retType, paramsType, failed);
}

/**
 * syscall(2) of the system call numbered `nr` (from the ABI table, see
 * syscall.ts), declared with the argument types after the number; its
 * errors are named `name`, not "syscall".
 */
export function rawSyscall(name: string, nr: number, paramsType: readonly CType[]): CFunction<number> {
  const call = declare<number>(
    'libc',
    'syscall',
    name,
    DataType.I64,
    [DataType.I64, ...paramsType],
    isMinusOne,
  );
  return Object.assign((args: unknown[], subject?: string) => call([nr, ...args], subject), {
    define: () => {
      call.define();
    },
  });
}

/** Declare a libc function whose result is never an error (memset, ...). */
export function libcPlain(
  name: string,
  retType: CType,
  paramsType: readonly CType[],
): (args: unknown[]) => unknown {
  let call: RawFn | undefined;
  return (args) => {
    call ??= defineRaw('libc', name, retType, paramsType, false);
    return call(args);
  };
}

/**
 * Call a libc function on a libuv worker thread (a call that blocks, e.g.
 * waitpid, while the main thread keeps handling signals). Returns the
 * value and errno without judging them.
 */
export async function libcCallOnWorker(
  name: string,
  retType: CType,
  paramsType: readonly CType[],
  args: unknown[],
): Promise<RawResult> {
  openLibrary('libc', 'libc.so.6');
  return (await ffi().load({
    library: 'libc',
    funcName: name,
    retType: ffiType(retType),
    paramsType: paramsType.map(ffiType),
    paramsValue: args,
    errno: true,
    runInNewThread: true,
  })) as unknown as RawResult;
}
