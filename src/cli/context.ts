import type { FlagValues } from './argv.js';
import type { Logger } from './log.js';

/** Global options every subcommand receives (runc's global flags). */
export interface GlobalOptions {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  rootless: string;
}

export interface CommandContext {
  command: string;
  globals: GlobalOptions;
  flags: FlagValues;
  args: string[];
  log: Logger;
}
