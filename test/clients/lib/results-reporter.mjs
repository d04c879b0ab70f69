// A node:test reporter writing one JSON line per finished test:
// { file (the client: the suite's first word), name, result, reason, ms }.
// Used by compare.mjs for the runts-vs-runc table.
import path from 'node:path';

export default async function* resultsReporter(source) {
  let client = '';
  for await (const ev of source) {
    const d = ev.data;
    if (ev.type === 'test:start' && d.nesting === 0) client = d.name.split(' ')[0];
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
    if (d.nesting === 0) continue;
    let result = ev.type === 'test:pass' ? 'pass' : 'fail';
    let reason = '';
    if (d.skip !== undefined) {
      result = 'skip';
      reason = typeof d.skip === 'string' ? d.skip : '';
    } else if (d.todo !== undefined) {
      result = ev.type === 'test:pass' ? 'todo-pass' : 'todo';
      reason = typeof d.todo === 'string' ? d.todo : '';
    }
    yield (
      JSON.stringify({
        file: client || path.basename(d.file ?? ''),
        name: d.name,
        result,
        reason,
        ms: Math.round(d.details?.duration_ms ?? 0),
      }) + '\n'
    );
  }
}
