import { UserError } from '../errors.js';
import type { CommandContext } from './context.js';

export function run(ctx: CommandContext): never {
  throw new UserError(`${ctx.command} is not implemented yet`);
}
