/**
 * Errors meant for the user: printed as `runts: <message>` with exit code 1
 * (or `exitCode`), never with a stack trace unless --debug.
 */
// Each command is bundled on its own (scripts/build.mjs), with its own copy of
// this class, so the CLI entry recognises user errors by a brand, not instanceof.
const userErrorBrand = Symbol.for('runts.UserError');

export class UserError extends Error {
  readonly [userErrorBrand] = true;
  /** `options.cause`: the error this one reports (a SyscallError, say), kept for --debug and for callers that inspect it. */
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'UserError';
  }
}

export function isUserError(e: unknown): e is UserError {
  return (
    typeof e === 'object' && e !== null && (e as { [userErrorBrand]?: boolean })[userErrorBrand] === true
  );
}
