/**
 * `runts list [-f table|json] [-q]`, reproducing runc 1.1's output: a Go
 * tabwriter table (minwidth 12, tabwidth 1, padding 3, spaces), or one JSON
 * line (`null` when there are no containers, as Go encodes a nil slice).
 */
import fs from 'node:fs';
import { UserError } from '../errors.js';
import { StateStore } from '../container/state-store.js';
import { stateDocument } from '../container/status.js';
import type { CommandContext } from './context.js';
import type { ListOptions } from './commands.js';
import { goJson } from '../json.js';
import { writeStderr, writeStdout } from '../output.js';

type Doc = ReturnType<typeof stateDocument>;

export function run(ctx: CommandContext<ListOptions>): number {
  const store = new StateStore(ctx.globals.root);
  const docs = containers(store);
  // runc checks -q before the format, so `-q -f bogus` is not an error.
  if (ctx.options.quiet === true) {
    writeStdout(docs.map((d) => `${d.id}\n`).join(''));
    return 0;
  }
  switch (ctx.options.format) {
    case 'table': {
      const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
      for (const d of docs) rows.push([d.id, d.pid, d.status, d.bundle, d.created, d.owner].map(String));
      writeStdout(tabulate(rows));
      return 0;
    }
    case 'json':
      writeStdout(goJson(docs.length > 0 ? docs : null) + '\n');
      return 0;
    default:
      throw new UserError('invalid format option');
  }
}

function containers(store: StateStore): Doc[] {
  const users = new Users();
  const docs: Doc[] = [];
  for (const id of store.list()) {
    try {
      const doc = stateDocument(store, store.read(id));
      // Like runc, list names the owner of the container's directory
      // (its state command leaves owner as recorded).
      doc.owner = users.name(fs.statSync(store.dir(id)).uid);
      docs.push(doc);
    } catch (e) {
      // One bad or vanishing container must not hide the others (runc does the same).
      const msg =
        (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'container does not exist' : (e as Error).message;
      writeStderr(`load container ${id}: ${msg}\n`);
    }
  }
  return docs;
}

/**
 * Go's text/tabwriter for rows whose every cell but the last ends in a tab:
 * each column is as wide as its widest cell plus padding, at least minwidth;
 * the last cell is written as is. Widths count code points, as Go counts runes.
 */
export function tabulate(rows: string[][], minwidth = 12, padding = 3): string {
  const width = (s: string) => Array.from(s).length;
  const widths: number[] = [];
  for (const row of rows) {
    row.slice(0, -1).forEach((cell, j) => {
      widths[j] = Math.max(widths[j] ?? minwidth, width(cell) + padding);
    });
  }
  return rows
    .map(
      (row) =>
        row
          .map((cell, j) => (j < row.length - 1 ? cell + ' '.repeat((widths[j] ?? 0) - width(cell)) : cell))
          .join('') + '\n',
    )
    .join('');
}

/** uid → user name from /etc/passwd, `#<uid>` when unknown (as runc prints). */
class Users {
  private names?: Map<number, string>;

  name(uid: number): string {
    if (!this.names) {
      this.names = new Map();
      try {
        for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
          const [user = '', , uid = ''] = line.split(':');
          if (/^\d+$/.test(uid) && !this.names.has(Number(uid))) this.names.set(Number(uid), user);
        }
      } catch {}
    }
    return this.names.get(uid) ?? `#${uid}`;
  }
}
