/**
 * The runts entry point: global flags, dispatch to a lazily loaded command,
 * and the one place where errors become messages and exit codes.
 */
import { commands, globalFlags } from './cli/commands.js';
import { parseFlags, reorderArgs, UsageError } from './cli/argv.js';
import { Logger } from './cli/log.js';
import type { CommandContext, GlobalOptions } from './cli/context.js';
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
    const { values: g, rest } = parseFlags(argv, globalFlags);
    debug = g.debug === true;
    const logFormat = g['log-format'];
    if (logFormat !== 'text' && logFormat !== 'json') throw new UsageError(`invalid log-format: ${String(logFormat)}`);
    log = new Logger(g.log as string | undefined, logFormat, debug);
    const logger = log;
    setLogSinks({ warn: (msg) => logger.warn(msg), debug: debug ? (msg) => logger.debug(msg) : undefined });
    if (g.version) {
      writeStdout(`runts version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}\nnode: ${process.version}\n`);
      return 0;
    }
    const name = rest[0];
    if (g.help || name === undefined || name === 'help') {
      const { showHelp } = await import('./cli/help.js');
      showHelp(name === 'help' ? rest[1] : undefined);
      return 0;
    }
    const spec = commands.find((c) => c.name === name);
    if (!spec) throw new UsageError(`No help topic for '${name}'`);
    // runc's commands take -h/--help among their own flags (after the ID too, where flags are reordered).
    const flags = [...spec.flags, ...globalFlags.filter((f) => f.name === 'help')];
    const cmdArgv = spec.keepOrder ? rest.slice(1) : reorderArgs(rest.slice(1), flags);
    const { values, rest: args } = parseFlags(cmdArgv, flags);
    if (values.help) {
      const { showHelp } = await import('./cli/help.js');
      showHelp(name);
      return 0;
    }
    const [min, max] = typeof spec.args === 'number' ? [spec.args, spec.args] : spec.args;
    if (args.length < min || args.length > max) {
      const want = min === max ? `exactly ${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new UsageError(`"${name}" requires ${want} argument(s)`);
    }
    const globals: GlobalOptions = {
      root: String(g.root),
      log: g.log as string | undefined,
      logFormat,
      debug,
      systemdCgroup: g['systemd-cgroup'] === true,
      rootless: String(g.rootless),
    };
    const ctx: CommandContext = { command: name, globals, flags: values, args, log };
    debugLine(`${name}: ${args.length ? `container ${JSON.stringify(args[0])}` : 'no arguments'}, root ${globals.root}`);
    const mod = await spec.load();
    const code = await mod.run(ctx);
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    if (isUserError(err)) {
      log.error(err.message);
      if (debug && err.stack) writeStderr(err.stack + '\n');
      return err.exitCode;
    }
    const e = err as Error;
    log.error(e?.message ?? String(err));
    if (debug && e?.stack) writeStderr(e.stack + '\n');
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 1;
  },
);
