/**
 * Help output, rendered by yargs from the same command table the fast parser
 * uses. Loaded only for --help: yargs costs more to load than `state` itself.
 */
import yargs from 'yargs';
import { commands, globalFlags, type FlagSpec } from './commands.js';

function toOption(f: FlagSpec) {
  return {
    alias: f.alias,
    describe: f.describe,
    type:
      f.type === 'bool'
        ? ('boolean' as const)
        : f.type === 'int'
          ? ('number' as const)
          : f.type === 'strings'
            ? ('array' as const)
            : ('string' as const),
    default: f.default,
  };
}

export function showHelp(command?: string): void {
  let y = yargs([])
    .scriptName('runts')
    .usage('runts [global options] command [command options] [arguments...]')
    .version(false)
    .help(false)
    .wrap(100);
  for (const f of globalFlags) y = y.option(f.name, toOption(f));
  const spec = command ? commands.find((c) => c.name === command) : undefined;
  if (spec) {
    y = yargs([])
      .scriptName('runts')
      .usage(`runts ${spec.usage}\n\n${spec.describe}`)
      .version(false)
      .help(false)
      .wrap(100);
    for (const f of spec.flags) y = y.option(f.name, toOption(f));
  } else {
    for (const c of commands) y = y.command(c.name, c.describe);
  }
  y.showHelp((s: string) => process.stdout.write(s + '\n'));
}
