/** `runts features`: the features document, indented with four spaces as runc prints it. */
import { featuresDocument } from '../spec/features.js';
import { goJson } from '../json.js';
import { writeStdout } from '../output.js';

export function run(): number {
  writeStdout(goJson(featuresDocument(), '    ') + '\n');
  return 0;
}
