/**
 * The one error type of src/linux/ and the helpers that read errno codes.
 * Pure: no native code is loaded here (upper layers and unit tests import it
 * freely).
 */
import { constants as osConstants } from 'node:os';

// glibc's names (strerrorname_np): os.constants.errno also lists the
// aliases EWOULDBLOCK (EAGAIN's number) and ENOTSUP (EOPNOTSUPP's), and the
// later name would win.
const ERRNO_ALIASES = new Set(['EWOULDBLOCK', 'ENOTSUP']);
const errnoNames = new Map<number, string>(
  Object.entries(osConstants.errno)
    .filter(([name]) => !ERRNO_ALIASES.has(name))
    .map(([name, code]) => [code, name]),
);

/** The errno's symbolic name ("ENOENT"), or "errno N" for a number Node does not know. */
export function errnoName(code: number): string {
  return errnoNames.get(code) ?? `errno ${code}`;
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

/**
 * The errno name ("ENOENT") carried by a failure of a C call (SyscallError)
 * or of Node's fs and child_process calls (their `code`); undefined for
 * anything else.
 */
export function errnoOf(e: unknown): string | undefined {
  if (e instanceof SyscallError) return e.code;
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  return typeof e.code === 'string' ? e.code : undefined;
}
