import { UserError } from '../errors.js';
import type { CommandContext } from './context.js';

export function run(ctx: CommandContext<unknown>): never {
  throw new UserError(`${ctx.command} is not implemented yet`);
}
