/**
 * The one place that talks to ffi-rs: opens libc once and exposes a helper
 * to declare typed libc functions whose failures become SyscallError.
 * Nothing above src/linux/ imports ffi-rs.
 */
import ffi from 'ffi-rs';
import { constants as osConstants } from 'node:os';

export const { DataType } = ffi;
export type FieldType = ffi.FieldType;
export type JsExternal = ffi.JsExternal;

let opened = false;
function openLibc(): void {
  if (opened) return;
  ffi.open({ library: 'libc', path: 'libc.so.6' });
  opened = true;
}

const errnoNames: Record<number, string> = Object.fromEntries(
  Object.entries(osConstants.errno).map(([name, code]) => [code, name]),
);

export function errnoName(code: number): string {
  return errnoNames[code] ?? `errno ${code}`;
}

/** A failed libc call: names the call, the errno and what it was applied to. */
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

/**
 * Declare a libc function. The returned function throws SyscallError when
 * `failed(value)` says the call failed (by default: value === -1).
 */
export function libcFunction<R = number>(
  name: string,
  retType: FieldType,
  paramsType: FieldType[],
  failed: (value: R) => boolean = (v) => (v as unknown) === -1,
): (args: unknown[], subject?: string) => R {
  openLibc();
  const key = name;
  let raw = cache.get(key);
  if (!raw) {
    const defs = ffi.define({
      [name]: { library: 'libc', retType, paramsType, errno: true },
    } as never) as Record<string, RawFn>;
    raw = defs[name];
    cache.set(key, raw);
  }
  const call = raw;
  return (args, subject) => {
    const r = call(args);
    if (failed(r.value as R)) throw new SyscallError(name, r.errnoCode, subject);
    return r.value as R;
  };
}

/** Declare a libc function whose result is never an error (getpid, ...). */
export function libcPlain<R = number>(name: string, retType: FieldType, paramsType: FieldType[]): (args: unknown[]) => R {
  openLibc();
  const fn = ffi.define({ [name]: { library: 'libc', retType, paramsType } } as never) as Record<
    string,
    (a: unknown[]) => unknown
  >;
  return fn[name] as (a: unknown[]) => R;
}

export const ffiRaw = ffi;
