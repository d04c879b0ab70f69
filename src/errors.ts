/**
 * Errors meant for the user: printed as `runts: <message>` with exit code 1
 * (or `exitCode`), never with a stack trace unless --debug.
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'UserError';
  }
}
