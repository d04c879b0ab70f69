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
import { constants as osConstants } from 'node:os';
import type * as FfiRs from 'ffi-rs';

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
export type FieldType = FfiRs.FieldType;
export type JsExternal = FfiRs.JsExternal;

let ffiModule: typeof FfiRs | undefined;
/** The ffi-rs module, loaded on first use. */
export function ffi(): typeof FfiRs {
  ffiModule ??= loadFfi();
  return ffiModule;
}

/**
 * ffi-rs's own index.js picks its addon by asking process.report whether libc
 * is musl: a full diagnostic report (it reads /proc/cpuinfo and more), 15-20 ms
 * of every runts start that calls C, twice per container (runts and its init).
 * runts needs glibc anyway (the clone chain uses glibc's ucontext layout), so
 * it loads the glibc addon directly and keeps the few wrappers of index.js it
 * uses; any other platform goes through index.js.
 */
function loadFfi(): typeof FfiRs {
  const requireHere = createRequire(import.meta.url);
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) {
    return requireHere('ffi-rs') as typeof FfiRs;
  }
  let addon: Record<string, any>;
  try {
    const requireFromFfiRs = createRequire(requireHere.resolve('ffi-rs'));
    addon = requireFromFfiRs(`@yuuang/ffi-rs-linux-${process.arch}-gnu`);
  } catch {
    return requireHere('ffi-rs') as typeof FfiRs;
  }
  const { DataType: types, FFITypeTag } = addon;
  const arrayTypes = [types.I16Array, types.I32Array, types.StringArray, types.DoubleArray, types.U8Array, types.FloatArray];
  // As index.js: array parameters carry their length.
  const withArrayLengths = (params: any) => {
    params.paramsType = params.paramsType?.map((t: unknown, i: number) =>
      arrayTypes.includes(t) ? { ffiTypeTag: FFITypeTag.Array, type: t, length: params.paramsValue[i].length } : t,
    );
    return params;
  };
  const load = (params: any) => {
    if (params.freeResultMemory === undefined) params.freeResultMemory = false;
    return addon.load(withArrayLengths(params));
  };
  const define = (obj: Record<string, object>) =>
    Object.fromEntries(
      Object.entries(obj).map(([funcName, desc]) => [funcName, (paramsValue: unknown[] = []) => load({ ...desc, funcName, paramsValue })]),
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

// glibc's names (strerrorname_np): os.constants.errno also lists the
// aliases EWOULDBLOCK (EAGAIN's number) and ENOTSUP (EOPNOTSUPP's), and the
// later name would win.
const ERRNO_ALIASES = new Set(['EWOULDBLOCK', 'ENOTSUP']);
const errnoNames: Record<number, string> = Object.fromEntries(
  Object.entries(osConstants.errno)
    .filter(([name]) => !ERRNO_ALIASES.has(name))
    .map(([name, code]) => [code, name]),
);

export function errnoName(code: number): string {
  return errnoNames[code] ?? `errno ${code}`;
}

/** A failed C call: names the call, the errno and what it was applied to. */
export class SyscallError extends Error {
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly subject?: string,
  ) {
    const name = errnoName(errno);
    super(subject ? `${syscall} ${subject}: ${name}` : `${syscall}: ${name}`);
    this.name = 'SyscallError';
    this.code = name;
  }
}

type RawFn = (args: unknown[]) => { value: unknown; errnoCode: number };

const cache = new Map<string, RawFn>();

function defineRaw(library: string, name: string, retType: FieldType, paramsType: FieldType[], errno: boolean): RawFn {
  // one C function may be declared with several signatures (syscall)
  const key = `${library}:${name}:${JSON.stringify([retType, paramsType])}:${errno}`;
  let raw = cache.get(key);
  if (!raw) {
    if (library === 'libc') openLibrary('libc', 'libc.so.6');
    const defs = ffi().define({ [name]: { library, retType, paramsType, errno } } as never) as Record<string, RawFn>;
    raw = defs[name];
    cache.set(key, raw);
  }
  return raw;
}

/**
 * Declare a C function of `library` (opened with openLibrary, or 'libc').
 * The returned function throws SyscallError when `failed(value)` says the
 * call failed (by default: value === -1).
 */
export function libraryFunction<R = number>(
  library: string,
  name: string,
  retType: FieldType,
  paramsType: FieldType[],
  failed: (value: R) => boolean = (v) => (v as unknown) === -1,
): CFunction<R> {
  let call: RawFn | undefined;
  const fn = (args: unknown[], subject?: string) => {
    call ??= defineRaw(library, name, retType, paramsType, true);
    const r = call(args);
    if (failed(r.value as R)) throw new SyscallError(name, r.errnoCode, subject);
    return r.value as R;
  };
  return Object.assign(fn, { define: () => void (call ??= defineRaw(library, name, retType, paramsType, true)) });
}

/** A declared C function; `define()` binds it now (declaring allocates: not where memory may be short). */
export type CFunction<R> = ((args: unknown[], subject?: string) => R) & { define(): void };

/** Declare a libc function; see libraryFunction. */
export function libcFunction<R = number>(
  name: string,
  retType: FieldType,
  paramsType: FieldType[],
  failed: (value: R) => boolean = (v) => (v as unknown) === -1,
): CFunction<R> {
  return libraryFunction<R>('libc', name, retType, paramsType, failed);
}

/** Declare a libc function whose result is never an error (memset, ...). */
export function libcPlain<R = number>(name: string, retType: FieldType, paramsType: FieldType[]): (args: unknown[]) => R {
  let call: ((a: unknown[]) => unknown) | undefined;
  return (args) => {
    call ??= defineRaw('libc', name, retType, paramsType, false) as unknown as (a: unknown[]) => unknown;
    return call(args) as R;
  };
}
