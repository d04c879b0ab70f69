/** `runts features`: the features document, indented with four spaces as runc prints it. */
import { featuresDocument } from '../spec/features.js';
import { goJson } from './go-json.js';

export function run(): number {
  process.stdout.write(goJson(featuresDocument(), '    ') + '\n');
  return 0;
}
