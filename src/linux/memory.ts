/**
 * Native memory that C code reads: malloc'd blocks with their raw address
 * (as a bigint, to store in structs) and a Buffer view to fill them from JS.
 */
import { DataType, libcFunction, libcPlain, ffi, type JsExternal } from './libc.js';

const malloc = libcFunction<JsExternal>('malloc', DataType.External, [DataType.I64], (p) =>
  ffi().isNullPointer(p),
);
// memset(p, 0, 0) returns p: the only portable way to read an External's address.
const addressOf = libcPlain('memset', DataType.BigInt, [DataType.External, DataType.I32, DataType.I64]);

export class NativeBlock {
  readonly ptr: JsExternal;
  readonly address: bigint;
  readonly view: Buffer;
  private used = 0;

  /** Memory is never freed: blocks live for the short life of a runts process. */
  constructor(readonly size: number) {
    this.ptr = malloc([size], `${size} bytes`);
    const address = addressOf([this.ptr, 0, 0]);
    if (typeof address !== 'bigint') throw new Error('memset returned no address');
    this.address = address;
    this.view = ffi().createExternalBuffer(this.ptr, size);
    this.view.fill(0);
  }

  /** Reserve `n` bytes (aligned to 16) and return their address. */
  alloc(n: number): { offset: number; address: bigint } {
    const offset = (this.used + 15) & ~15;
    if (offset + n > this.size) throw new Error(`native block of ${this.size} bytes exhausted`);
    this.used = offset + n;
    return { offset, address: this.address + BigInt(offset) };
  }

  /** Copy a NUL-terminated string in; returns its address. */
  cString(s: string): bigint {
    const bytes = Buffer.from(s + '\0', 'utf8');
    const { offset, address } = this.alloc(bytes.length);
    bytes.copy(this.view, offset);
    return address;
  }

  /** A NULL-terminated array of C strings (argv/envp); returns its address. */
  cStringArray(items: string[]): bigint {
    const ptrs = items.map((s) => this.cString(s));
    const { offset, address } = this.alloc(8 * (ptrs.length + 1));
    ptrs.forEach((p, i) => this.view.writeBigUInt64LE(p, offset + 8 * i));
    this.view.writeBigUInt64LE(0n, offset + 8 * ptrs.length);
    return address;
  }
}
