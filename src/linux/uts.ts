/** UTS namespace names. */
import { DataType, libcFunction } from './libc.js';

const sethostnameCall = libcFunction('sethostname', DataType.I32, [DataType.String, DataType.I64]);
const setdomainnameCall = libcFunction('setdomainname', DataType.I32, [DataType.String, DataType.I64]);

export function sethostname(name: string): void {
  sethostnameCall([name, Buffer.byteLength(name)], name);
}

export function setdomainname(name: string): void {
  setdomainnameCall([name, Buffer.byteLength(name)], name);
}
