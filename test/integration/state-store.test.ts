/**
 * The state store and status detection, in process, plus races of atomic
 * writes and removals against readers (in process and `runts state`).
 * Run `npm run build` first: the race tests start dist/runts.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { validateContainerId } from '../../src/container/id.js';
import { StateStore } from '../../src/container/state-store.js';
import { containerStatus, stateDocument } from '../../src/container/status.js';
import { UserError } from '../../src/errors.js';
import {
  BAD_IDS,
  GOOD_IDS,
  liveProcess,
  record,
  ROOT_DIR,
  runtsAsync,
  tempDir,
  type RunResult,
} from '../helpers.js';

/** The pid of a process that has exited and been reaped. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

describe('validateContainerId', () => {
  for (const id of BAD_IDS) {
    test(`refuses ${JSON.stringify(id.length > 40 ? `${id.length} chars` : id)}`, () => {
      assert.throws(() => validateContainerId(id), UserError);
    });
  }
  for (const id of GOOD_IDS) {
    test(`accepts ${JSON.stringify(id.length > 40 ? `${id.length} chars` : id)}`, () => {
      validateContainerId(id);
    });
  }
  test('the store refuses bad IDs before touching the filesystem', (t) => {
    const store = new StateStore(tempDir(t));
    assert.throws(() => store.read('../x'), /invalid container ID/);
    assert.throws(() => store.createDir('..'), /invalid container ID/);
  });
});

describe('StateStore', () => {
  test('write then read returns the record; missing is "container does not exist"', (t) => {
    const store = new StateStore(path.join(tempDir(t), 'root'));
    assert.throws(() => store.read('c1'), { message: 'container does not exist' });
    assert.deepEqual(store.list(), []);
    store.createDir('c1');
    assert.throws(() => store.read('c1'), { message: 'container does not exist' });
    assert.deepEqual(store.list(), [], 'a directory without state.json is not listed');
    store.write(record('c1'));
    assert.deepEqual(store.read('c1'), record('c1'));
    assert.throws(() => store.createDir('c1'), /container with id exists: c1/);
    store.remove('c1');
    assert.throws(() => store.read('c1'), { message: 'container does not exist' });
    // Valid but longer than NAME_MAX: cannot exist.
    assert.throws(() => store.read('x'.repeat(1024)), { message: 'container does not exist' });
  });

  test('list is sorted and skips leftovers', (t) => {
    const store = new StateStore(tempDir(t));
    for (const id of ['b', 'a', 'c']) {
      store.createDir(id);
      store.write(record(id));
    }
    fs.writeFileSync(path.join(store.root, 'stray-file'), '');
    assert.deepEqual(store.list(), ['a', 'b', 'c']);
  });

  test('a torn state file is reported, not parsed', (t) => {
    const store = new StateStore(tempDir(t));
    store.createDir('c1');
    fs.writeFileSync(path.join(store.dir('c1'), 'state.json'), '{"id": "c1"');
    assert.throws(() => store.read('c1'), /corrupt state file/);
  });
});

describe('status', () => {
  test('live init with its recorded start time is running', (t) => {
    const store = new StateStore(tempDir(t));
    const p = liveProcess(t);
    store.createDir('c1');
    store.write(record('c1', { pid: p.pid, pidStartTime: p.startTime }));
    const doc = stateDocument(store, store.read('c1'));
    assert.equal(doc.status, 'running');
    assert.equal(doc.pid, p.pid);
  });

  test('with exec.fifo present and not started it is created', (t) => {
    const store = new StateStore(tempDir(t));
    const p = liveProcess(t);
    store.createDir('c1');
    store.write(record('c1', { pid: p.pid, pidStartTime: p.startTime }));
    assert.equal(spawnSync('mkfifo', [path.join(store.dir('c1'), 'exec.fifo')]).status, 0);
    assert.equal(containerStatus(store, store.read('c1')), 'created');
    // After `start` the fifo is gone or the record says started: running.
    store.write(record('c1', { pid: p.pid, pidStartTime: p.startTime, started: true }));
    assert.equal(containerStatus(store, store.read('c1')), 'running');
  });

  test('a dead init is stopped with pid 0', (t) => {
    const store = new StateStore(tempDir(t));
    store.createDir('c1');
    store.write(record('c1', { pid: deadPid(), pidStartTime: '12345' }));
    const doc = stateDocument(store, store.read('c1'));
    assert.equal(doc.status, 'stopped');
    assert.equal(doc.pid, 0);
  });

  test('a recycled pid (other start time) is stopped', (t) => {
    const store = new StateStore(tempDir(t));
    const p = liveProcess(t);
    store.createDir('c1');
    store.write(record('c1', { pid: p.pid, pidStartTime: String(Number(p.startTime) - 1) }));
    assert.deepEqual(
      [containerStatus(store, store.read('c1')), stateDocument(store, store.read('c1')).pid],
      ['stopped', 0],
    );
  });

  test('state document: runc key order, annotations sorted and before owner, omitted when empty', (t) => {
    const store = new StateStore(tempDir(t));
    store.createDir('c1');
    store.write(record('c1', { annotations: { 'z.last': '1', 'a.first': '2' }, owner: 'me' }));
    const doc = stateDocument(store, store.read('c1'));
    assert.deepEqual(Object.keys(doc), [
      'ociVersion',
      'id',
      'pid',
      'status',
      'bundle',
      'rootfs',
      'created',
      'annotations',
      'owner',
    ]);
    assert.deepEqual(Object.keys(doc.annotations as object), ['a.first', 'z.last']);
    // created as Go prints a time.Time: no trailing zeros in the fraction.
    for (const [stored, shown] of [
      ['2026-01-02T03:04:05.120000000Z', '2026-01-02T03:04:05.12Z'],
      ['2026-01-02T03:04:05.000Z', '2026-01-02T03:04:05Z'],
      ['2026-01-02T03:04:05.5+02:00', '2026-01-02T03:04:05.5+02:00'],
      ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05Z'],
    ] as const) {
      store.write(record('c1', { created: stored }));
      assert.equal(stateDocument(store, store.read('c1')).created, shown);
    }
    store.write(record('c1', { annotations: {} }));
    assert.deepEqual(Object.keys(stateDocument(store, store.read('c1'))), [
      'ociVersion',
      'id',
      'pid',
      'status',
      'bundle',
      'rootfs',
      'created',
      'owner',
    ]);
  });
});

/** Checks a `runts state` result: a whole document, or (if allowed) "does not exist". */
function checkStateResult(r: RunResult, id: string, allowMissing: boolean): 'ok' | 'missing' {
  if (r.status === 0) {
    const doc = JSON.parse(r.stdout); // throws on a torn document
    assert.equal(doc.id, id);
    assert.deepEqual(
      Object.keys(doc).filter((k) => k !== 'annotations'),
      ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner'],
    );
    return 'ok';
  }
  assert.ok(allowMissing, `runts state failed: ${r.stderr}`);
  assert.deepEqual([r.status, r.stderr, r.stdout], [1, 'runts: container does not exist\n', '']);
  return 'missing';
}

describe('races', () => {
  test('200 atomic writes racing readers: no reader sees a torn file', async (t) => {
    const N = 200;
    // Registered before tempDir's removal (after-hooks run in order): a writer
    // still running when a test fails would make the root again after it.
    let writer: ReturnType<typeof spawn> | undefined = undefined; // set once below, after the hook that kills it
    t.after(async () => {
      if (!writer || writer.exitCode !== null || writer.signalCode !== null) return;
      const gone = new Promise((resolve) => writer!.on('close', resolve));
      writer.kill('SIGKILL');
      await gone;
    });
    const store = new StateStore(tempDir(t));
    store.createDir('c1');
    store.write(record('c1'));
    // The writer runs in its own process so that reads truly interleave with
    // writes. Records vary in size so a torn read could not parse.
    writer = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `
        const { StateStore } = require('./src/container/state-store.ts');
        const store = new StateStore(process.env.ROOT);
        const base = JSON.parse(process.env.RECORD);
        const pause = new Int32Array(new SharedArrayBuffer(4));
        for (let i = 0; i < ${N}; i++) {
          store.write({ ...base, annotations: { seq: String(i), pad: 'x'.repeat((i * 7919) % 50000) } });
          Atomics.wait(pause, 0, 0, 5);
        }`,
      ],
      {
        cwd: ROOT_DIR,
        env: { ...process.env, ROOT: store.root, RECORD: JSON.stringify(record('c1')) },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let writerErr = '';
    writer.stderr!.setEncoding('utf8').on('data', (s: string) => (writerErr += s));
    const writerDone = new Promise<number | null>((resolve) => writer.on('close', resolve));
    // An object, not a let: TS would narrow a local to `true` in the loop below.
    const writing = { running: true };
    void writerDone.then(() => (writing.running = false));

    const seen = new Set<string>();
    let inProcessReads = 0;
    const subprocesses: Promise<RunResult>[] = [];
    let inFlight = 0;
    while (writing.running) {
      for (let i = 0; i < 20; i++, inProcessReads++) {
        const rec = store.read('c1'); // throws "corrupt state file" on a torn read
        assert.equal(rec.id, 'c1');
        seen.add(rec.annotations?.seq ?? 'initial');
      }
      if (inFlight < 6) {
        inFlight++;
        subprocesses.push(runtsAsync(['--root', store.root, 'state', 'c1']).finally(() => inFlight--));
      }
      await tick();
    }
    assert.equal(await writerDone, 0, writerErr);
    const results = await Promise.all(subprocesses);
    for (const r of results) checkStateResult(r, 'c1', false);
    assert.ok(results.length >= 3, `only ${results.length} runts state calls overlapped the writes`);
    assert.ok(seen.size > 10, `reads saw only ${seen.size} distinct versions: the race did not happen`);
    assert.ok(inProcessReads > N);
    assert.equal(store.read('c1').annotations?.seq, String(N - 1));
    t.diagnostic(
      `${inProcessReads} reads in process saw ${seen.size} versions; ${results.length} runts state calls`,
    );
  });

  test('remove racing runts state: a whole document or "container does not exist"', async (t) => {
    const store = new StateStore(tempDir(t));
    const outcomes = { ok: 0, missing: 0 };
    const batch = (id: string) =>
      Array.from({ length: 8 }, () => runtsAsync(['--root', store.root, 'state', id]));
    // Time a batch of calls, then remove at points spread across that window,
    // so that some calls read before the removal, some during, some after.
    const t0 = Date.now();
    await Promise.all(batch('none'));
    const window = Date.now() - t0;
    for (let round = 0; round < 6; round++) {
      const id = `c${round}`;
      store.createDir(id);
      store.write(record(id, { annotations: { pad: 'y'.repeat(100_000) } }));
      const calls = batch(id);
      await sleep(window * (0.4 + round * 0.15));
      store.remove(id);
      for (const r of await Promise.all(calls)) outcomes[checkStateResult(r, id, true)]++;
    }
    assert.equal(outcomes.ok + outcomes.missing, 48);
    t.diagnostic(`a batch takes ${window} ms; outcomes ${JSON.stringify(outcomes)}`);
  });
});
