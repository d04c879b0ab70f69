/**
 * The architectures runts has an ABI table for (see abi-x86_64.ts). On any
 * other, runts refuses to start rather than call wrong system call numbers
 * or lay out structs wrongly.
 */
import { UserError } from '../errors.js';
import { ARCH, NODE_ARCH } from './abi-x86_64.js';

/**
 * Throws a UserError (printed as `runts: unsupported architecture ...`, no
 * stack trace) unless runts runs on Linux on an architecture it has an ABI
 * table for. Called by the CLI entry first thing, and before the first C call.
 */
export function assertSupportedArch(platform: string = process.platform, arch: string = process.arch): void {
  if (platform !== 'linux') throw new UserError(`unsupported platform ${platform}: runts runs on Linux only`);
  if (arch !== NODE_ARCH) {
    throw new UserError(
      `unsupported architecture ${arch}: runts has system call numbers and struct layouts for ${ARCH} only`,
    );
  }
}
