/**
 * Concurrency on real containers: many creates of distinct IDs at once,
 * then parallel starts and deletes; many creates of one ID at once (exactly
 * one wins, the others fail with runc's message, the state is never torn);
 * `state` and `list` stay consistent throughout.
 *
 * Counts: RUNTS_CONC_DISTINCT (50), RUNTS_CONC_SAME (20).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoLeftovers, envCount, reliabilitySuite, type Leftovers } from './lib.js';

const DISTINCT = envCount('RUNTS_CONC_DISTINCT', 50);
const SAME = envCount('RUNTS_CONC_SAME', 20);

const s = reliabilitySuite(after);
const b = s.bundle('sleep 1000');
let empty: Leftovers;
before(() => {
  empty = s.leftovers();
});

/** Every `state` is a whole document with a known status, or "container does not exist". */
function checkState(id: string, allowed: string[]): string | undefined {
  const r = s.run(['state', id]);
  if (r.status === 1) {
    assert.equal(r.stderr, 'runts: container does not exist\n', `state ${id}`);
    return undefined;
  }
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.id, id);
  assert.ok(allowed.includes(doc.status), `state ${id}: ${doc.status}`);
  return doc.status;
}

/** `list -f json` parses, and names only containers of `ids` in an allowed status. */
function checkList(ids: Set<string>, allowed: string[]): string[] {
  const r = s.run(['list', '-f', 'json']);
  assert.equal(r.status, 0, r.stderr);
  // Containers whose create has not finished are reported as runc reports them.
  for (const line of r.stderr.split('\n').filter(Boolean))
    assert.match(line, /^load container \S+: container does not exist$/);
  const docs = (JSON.parse(r.stdout) ?? []) as Array<{ id: string; status: string }>;
  for (const d of docs) {
    assert.ok(ids.has(d.id), `listed ${d.id}`);
    assert.ok(allowed.includes(d.status), `${d.id}: ${d.status}`);
  }
  return docs.map((d) => d.id);
}

/** Poll state and list while `work` runs. */
async function watching<T>(work: Promise<T>, check: () => void): Promise<T> {
  // An object, not a let: TS would narrow a local to `false` in the loop.
  const progress = { done: false };
  const result = work.finally(() => (progress.done = true));
  while (!progress.done) {
    check();
    await new Promise((r) => setTimeout(r, 20));
  }
  return result;
}

test(`${DISTINCT} parallel creates of distinct IDs, then parallel starts and deletes`, async () => {
  const ids = Array.from({ length: DISTINCT }, (_, i) => `par-${i}`);
  const idSet = new Set(ids);
  // A bundle each: one cgroupsPath shared by many containers would be a
  // non-empty cgroup, which create warns about (as runc does).
  const bundles = ids.map(() => s.bundle('sleep 1000'));
  const created = await watching(
    Promise.all(
      ids.map((id, i) =>
        s.runAsync(['create', '--bundle', bundles[i] ?? assert.fail(`no bundle ${i}`), id], {
          timeout: 120_000,
        }),
      ),
    ),
    () => {
      checkList(idSet, ['created']);
      checkState(ids[ids.length - 1] ?? assert.fail('no ids'), ['created']);
    },
  );
  created.forEach((r, i) => assert.deepEqual([r.status, r.stderr], [0, ''], `create ${ids[i]}`));
  assert.deepEqual(checkList(idSet, ['created']).sort(), [...ids].sort());

  const started = await watching(
    Promise.all(ids.map((id) => s.runAsync(['start', id], { timeout: 120_000 }))),
    () => {
      checkList(idSet, ['created', 'running']);
    },
  );
  started.forEach((r, i) => assert.deepEqual([r.status, r.stderr], [0, ''], `start ${ids[i]}`));
  assert.deepEqual(checkList(idSet, ['running']).sort(), [...ids].sort());

  const deleted = await watching(
    Promise.all(ids.map((id) => s.runAsync(['delete', '--force', id], { timeout: 120_000 }))),
    () => {
      checkList(idSet, ['running', 'stopped']);
    },
  );
  deleted.forEach((r, i) => assert.deepEqual([r.status, r.stderr], [0, ''], `delete ${ids[i]}`));
  assert.deepEqual(checkList(idSet, []), []);
  assertNoLeftovers(s, empty, 'parallel creates, starts and deletes');
});

test(`${SAME} parallel creates of one ID: exactly one wins, the others fail clearly`, async () => {
  const id = 'one';
  const results = await watching(
    Promise.all(
      Array.from({ length: SAME }, () => s.runAsync(['create', '--bundle', b, id], { timeout: 120_000 })),
    ),
    () => {
      checkState(id, ['created']);
      checkList(new Set([id]), ['created']);
    },
  );
  const winners = results.filter((r) => r.status === 0);
  assert.equal(winners.length, 1, results.map((r) => `${r.status} ${r.stderr}`).join(''));
  for (const r of results.filter((x) => x.status !== 0)) {
    assert.deepEqual([r.status, r.stderr], [1, `runts: container with id exists: ${id}\n`]);
  }
  assert.equal(checkState(id, ['created']), 'created');
  const d = s.run(['delete', id]);
  assert.deepEqual([d.status, d.stderr], [0, '']);
  assertNoLeftovers(s, empty, 'parallel creates of one ID');
});
