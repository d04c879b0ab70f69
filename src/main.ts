/**
 * The runts entry point: global flags, dispatch to a lazily loaded command,
 * and the one place where errors become messages and exit codes.
 */
import { commands, globalFlags, toOptions } from './cli/commands.js';
import { parseFlags, reorderArgs, UsageError } from './cli/argv.js';
import { Logger } from './cli/log.js';
import { prepareXdgStateRoot, useRootlessCgroups, xdgStateRoot } from './cli/rootless.js';
import type { RawCommandContext, GlobalOptions } from './cli/context.js';
import { isUserError } from './errors.js';
import { assertSupportedArch } from './linux/arch.js';
import { VERSION, COMMIT, SPEC_VERSION } from './version.js';
import { useCodeCaches } from './code-cache.js';
import { debug as debugLine, setLogSinks, writeStderr, writeStdout } from './output.js';

// Commands are bundles of their own, compiled from their code caches.
useCodeCaches();

async function main(argv: string[]): Promise<number> {
  let log = new Logger(undefined, 'text', argv.includes('--debug'));
  let debug = false;
  try {
    assertSupportedArch();
    const { values, rest } = parseFlags(argv, globalFlags);
    const g = toOptions(globalFlags, values);
    debug = g.debug === true;
    const logFormat = g.logFormat;
    if (logFormat !== 'text' && logFormat !== 'json')
      throw new UsageError(`invalid log-format: ${logFormat}`);
    log = new Logger(g.log, logFormat, debug);
    const logger = log;
    setLogSinks({ warn: (msg) => logger.warn(msg), debug: debug ? (msg) => logger.debug(msg) : undefined });
    if (g.version === true) {
      writeStdout(
        `runts version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}\nnode: ${process.version}\n`,
      );
      return 0;
    }
    const name = rest[0];
    if (g.help === true || name === undefined || name === 'help') {
      const { showHelp } = await import('./cli/help.js');
      showHelp(name === 'help' ? rest[1] : undefined);
      return 0;
    }
    const spec = commands.find((c) => c.name === name);
    if (!spec) throw new UsageError(`No help topic for '${name}'`);
    // runc's commands take -h/--help among their own flags (after the ID too, where flags are reordered).
    const flags = [...spec.flags, ...globalFlags.filter((f) => f.name === 'help')];
    const cmdArgv = spec.keepOrder ? rest.slice(1) : reorderArgs(rest.slice(1), flags);
    const { values: commandValues, rest: args } = parseFlags(cmdArgv, flags);
    if (commandValues.help === true) {
      const { showHelp } = await import('./cli/help.js');
      showHelp(name);
      return 0;
    }
    const [min, max] = typeof spec.args === 'number' ? [spec.args, spec.args] : spec.args;
    if (args.length < min || args.length > max) {
      const want = min === max ? `exactly ${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new UsageError(`"${name}" requires ${want} argument(s)`);
    }
    if (g.root === xdgStateRoot()) prepareXdgStateRoot(g.root);
    const globals: GlobalOptions = {
      root: g.root,
      log: g.log,
      logFormat,
      debug,
      systemdCgroup: g.systemdCgroup === true,
      rootless: g.rootless,
      rootlessCgroups: useRootlessCgroups(g.rootless, g.systemdCgroup === true),
    };
    const ctx: RawCommandContext = { command: name, globals, values: commandValues, args, log };
    debugLine(
      `${name}: ${args.length ? `container ${JSON.stringify(args[0])}` : 'no arguments'}, root ${globals.root}`,
    );
    const mod = await spec.load();
    const code = await mod.run(ctx);
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    if (isUserError(err)) {
      log.error(err.message);
      if (debug && err.stack) writeStderr(err.stack + '\n');
      return err.exitCode;
    }
    log.error(messageOf(err));
    if (debug && err instanceof Error && err.stack) writeStderr(err.stack + '\n');
    return 1;
  }
}

/** What was thrown, as a message: an error's own, else the value as text. */
function messageOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string')
    return err.message;
  return String(err);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 1;
  },
);
