import type { FlagValues } from './argv.js';
import type { Logger } from './log.js';

/** Global options every subcommand receives (runc's global flags). */
export interface GlobalOptions {
  root: string;
  log: string | undefined;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  rootless: string;
  /** Cgroup permission errors are tolerated (--rootless, or detected as runc does). */
  rootlessCgroups: boolean;
}

/** What a command's handler receives: its options typed from the command table (commands.ts). */
export interface CommandContext<O = Record<string, never>> {
  command: string;
  globals: GlobalOptions;
  options: O;
  args: string[];
  log: Logger;
}

/** What the entry point hands the table: the parser's values, before they are typed. */
export interface RawCommandContext extends Omit<CommandContext, 'options'> {
  values: FlagValues;
}

/** The container ID, the first argument of every command that names one (main.ts checks the count). */
export function containerId(ctx: Pick<CommandContext<unknown>, 'args'>): string {
  const [id] = ctx.args;
  if (id === undefined) throw new Error('container ID missing');
  return id;
}
