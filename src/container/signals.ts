import { constants } from 'node:os';
import { UserError } from '../errors.js';

/** A signal given as a name (KILL, SIGKILL) or a number, as `runc kill` takes it. */
export function parseSignal(s: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    // 0 checks that the process exists, as kill(2) and runc allow.
    if (n > 64) throw new UserError(`invalid signal: ${s}`);
    return n;
  }
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw new UserError(`unknown signal "${s}"`);
  return n;
}
