/** `runts state <id>`: runc's state document, as `json.MarshalIndent(v, "", "  ")`. */
import { StateStore } from '../container/state-store.js';
import { stateDocument } from '../container/status.js';
import { containerId, type CommandContext } from './context.js';
import { goJson } from '../json.js';
import { writeStdout } from '../output.js';

export function run(ctx: CommandContext): number {
  const store = new StateStore(ctx.globals.root);
  const rec = store.read(containerId(ctx));
  // As runc 1.1.5: no newline after the document (clients parse it as JSON).
  writeStdout(goJson(stateDocument(store, rec), '  '));
  return 0;
}
