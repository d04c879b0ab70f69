/**
 * A small parser with the semantics of runc's urfave/cli + Go flag package:
 * `-flag`, `--flag`, `--flag=value`, `--flag value`; boolean flags take no
 * separate value (`--flag=false` is allowed); parsing of a command's flags
 * stops at the first positional argument or at `--`, so
 * `exec <id> sh -c 'x'` passes `-c` to the container's command.
 * Commands other than exec and ps first move their flags in front of the
 * positionals (reorderArgs), as urfave/cli v1 does for runc, so that
 * `update ID --memory 1M` works.
 * It exists because loading yargs costs more than the whole of `runts state`.
 */
import { UserError } from '../errors.js';
import type { FlagSpec } from './commands.js';

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export class UsageError extends UserError {}

function lookup(flags: readonly FlagSpec[], name: string): FlagSpec | undefined {
  return flags.find((f) => f.name === name || f.alias === name);
}

/** Whether `arg` names one of `flags` (`-x`, `--x`, `--x=v`), as urfave/cli's argIsFlag. */
function isFlag(flags: readonly FlagSpec[], arg: string): boolean {
  if (arg === '-' || arg === '--' || !arg.startsWith('-')) return false;
  const [name = ''] = arg.replace(/^--?/, '').split('=');
  return lookup(flags, name) !== undefined;
}

/**
 * urfave/cli v1's argument reordering (runc 1.1.5): every known flag, with the
 * argument after it when that one is not itself a known flag and the flag has
 * no `=value`, goes first; the rest keep their order behind them. A `--` ends
 * the reordering and moves to the front of the rest. As in runc, the argument
 * after a boolean flag moves too (`kill ID --all 9` becomes `--all 9 ID`).
 */
export function reorderArgs(argv: string[], flags: readonly FlagSpec[]): string[] {
  const moved: string[] = [];
  let rest: string[] = [];
  let mayBeValue = false;
  for (const [i, arg] of argv.entries()) {
    if (mayBeValue && !isFlag(flags, arg)) {
      mayBeValue = false;
      moved.push(arg);
    } else if (arg === '--') {
      rest = ['--', ...rest, ...argv.slice(i + 1)];
      break;
    } else if (isFlag(flags, arg)) {
      moved.push(arg);
      mayBeValue = !arg.includes('=');
    } else {
      rest.push(arg);
    }
  }
  return [...moved, ...rest];
}

/** Parse flags from argv until the first positional; returns values and the rest. */
export function parseFlags(
  argv: string[],
  flags: readonly FlagSpec[],
): { values: FlagValues; rest: string[] } {
  const values: FlagValues = {};
  for (const f of flags) if (f.default !== undefined) values[f.name] = f.default;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = lookup(flags, name);
    if (!spec) throw new UsageError(`flag provided but not defined: -${name}`);
    let raw: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (spec.type === 'bool') {
      if (raw === undefined) values[spec.name] = true;
      else if (/^(1|t|true|TRUE|True)$/.test(raw)) values[spec.name] = true;
      else if (/^(0|f|false|FALSE|False)$/.test(raw)) values[spec.name] = false;
      else throw new UsageError(`invalid boolean value "${raw}" for -${name}`);
      continue;
    }
    if (raw === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
      raw = argv[++i] ?? '';
    }
    if (spec.type === 'int') {
      if (!/^-?\d+$/.test(raw)) throw new UsageError(`invalid value "${raw}" for flag -${name}: parse error`);
      values[spec.name] = Number(raw);
    } else if (spec.type === 'strings') {
      const prev = values[spec.name];
      values[spec.name] = [...(Array.isArray(prev) ? prev : []), raw];
    } else {
      values[spec.name] = raw;
    }
  }
  return { values, rest: argv.slice(i) };
}
