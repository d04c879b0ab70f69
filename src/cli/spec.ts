/** `runts spec [--bundle DIR] [--rootless]`: write a starter config.json, as runc does. */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { defaultSpec } from '../spec/defaults.js';
import type { CommandContext } from './context.js';
import type { SpecOptions } from './commands.js';
import { goJson } from '../json.js';

/** "no such file or directory" from Node's "ENOENT: no such file or directory, stat '/x'". */
const reason = (e: unknown) => /^[A-Z]+: ([^,]+)/.exec((e as Error).message)?.[1] ?? (e as Error).message;

export function run(ctx: CommandContext<SpecOptions>): number {
  const bundle = ctx.options.bundle;
  if (bundle) {
    // runc chdirs into the bundle and reports a failure as such.
    let st: fs.Stats;
    try {
      st = fs.statSync(bundle);
    } catch (e) {
      throw new UserError(`chdir ${bundle}: ${reason(e)}`);
    }
    if (!st.isDirectory()) throw new UserError(`chdir ${bundle}: not a directory`);
  }
  const file = path.resolve(bundle ?? '.', 'config.json');
  // Like runc: tab indent, no final newline, mode 0666 less the umask.
  const text = goJson(defaultSpec({ rootless: ctx.options.rootless === true }), '\t');
  try {
    fs.writeFileSync(file, text, { flag: 'wx', mode: 0o666 }); // wx: never overwrite
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new UserError('File config.json exists. Remove it first');
    throw new UserError(`open config.json: ${reason(e)}`);
  }
  return 0;
}
