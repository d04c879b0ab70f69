import { UserError } from '../errors.js';

// runc's rule: letters, digits and _+-. only; "." and ".." would name the
// state root itself or its parent.
const ID_PATTERN = /^[\w+.-]+$/;
const MAX_ID_LENGTH = 1024;

/** Throws unless `id` is a container ID that cannot escape the state root. */
export function validateContainerId(id: string): void {
  if (id === '') throw new UserError('invalid container ID: must not be empty');
  if (id.length > MAX_ID_LENGTH)
    throw new UserError(`invalid container ID: longer than ${MAX_ID_LENGTH} characters`);
  if (id === '.' || id === '..' || !ID_PATTERN.test(id)) {
    throw new UserError(`invalid container ID format: ${JSON.stringify(id)}`);
  }
}
