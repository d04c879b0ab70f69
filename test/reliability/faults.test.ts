/**
 * Fault injection on real containers: runts SIGKILLed at every phase of
 * create, start, exec and delete (RUNTS_TEST_PAUSE_AT stops it exactly
 * there), then `delete --force` must leave nothing: no state, cgroup,
 * mount, process, zombie or temp file. Also a full disk under --root, a
 * bundle removed between create and start, and an init killed before start.
 */
import { test, describe, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RUNTS } from '../helpers.js';
import { assertNoLeftovers, killAtPhase, reliabilitySuite, type Leftovers } from './lib.js';

const s = reliabilitySuite(after);
let empty: Leftovers;
// A prestart hook, so that create has a hooks phase.
const b = s.bundle('sleep 1000', (c) => {
  c.hooks = { prestart: [{ path: '/bin/true' }] };
});
before(() => {
  empty = s.leftovers();
});

const CREATE_PHASES = [
  'create:dir',
  'create:intent',
  'create:spawned',
  'create:cgroups',
  'create:hooks',
  'create:ready',
  'create:recorded',
];

function stateOf(id: string): {
  status: number | null;
  stderr: string;
  doc?: { status: string; pid: number };
} {
  const r = s.run(['state', id]);
  return { status: r.status, stderr: r.stderr, doc: r.status === 0 ? JSON.parse(r.stdout) : undefined };
}

/** `delete --force` succeeds quickly and silently and leaves nothing. */
function forceDeleteLeavesNothing(id: string, what: string, boundMs = 4_000): void {
  const t0 = Date.now();
  const d = s.run(['delete', '--force', id], { timeout: 30_000 });
  const took = Date.now() - t0;
  assert.deepEqual([d.status, d.stderr], [0, ''], `delete --force after ${what}`);
  assert.ok(took < boundMs, `delete --force after ${what} took ${took} ms`);
  assertNoLeftovers(s, empty, what);
}

describe('SIGKILL of create at each phase, then delete --force', () => {
  for (const phase of CREATE_PHASES) {
    test(phase, async () => {
      const id = `c-${phase.replace(':', '-')}`;
      const k = await killAtPhase(s, ['create', '--bundle', b, id], phase);
      assert.ok(k.reached, `create reached ${phase}: ${k.stderr}`);
      const st = stateOf(id);
      if (phase === 'create:recorded') {
        assert.equal(st.doc?.status, 'created');
      } else {
        // As runc for a container whose create did not finish: it does not exist.
        assert.deepEqual([st.status, st.stderr], [1, 'runts: container does not exist\n']);
        assert.ok(!s.run(['list', '-q']).stdout.split('\n').includes(id), 'not listed');
      }
      forceDeleteLeavesNothing(id, `a create killed at ${phase}`);
    });
  }

  test('plain delete of a half-made container: "container does not exist" (as runc), and it is removed', async () => {
    const id = 'c-plain';
    assert.ok((await killAtPhase(s, ['create', '--bundle', b, id], 'create:cgroups')).reached);
    const d = s.run(['delete', id]);
    assert.deepEqual([d.status, d.stderr], [1, 'runts: container does not exist\n']);
    assertNoLeftovers(s, empty, 'plain delete of a half-made container');
  });

  test('a create killed half-way, again and again, under the same ID', async () => {
    for (let i = 0; i < 3; i++) {
      for (const phase of ['create:spawned', 'create:cgroups']) {
        assert.ok((await killAtPhase(s, ['create', '--bundle', b, 'again'], phase)).reached);
        forceDeleteLeavesNothing('again', `create killed at ${phase}, round ${i}`);
      }
    }
    // And the ID is usable afterwards.
    assert.equal(s.run(['create', '--bundle', b, 'again']).status, 0);
    forceDeleteLeavesNothing('again', 'a create after the crashes');
  });
});

describe('a lock held by a live runts process', () => {
  test('delete --force waits a bounded time, then kills the holder and removes the container', async () => {
    const id = 'held';
    assert.equal(s.run(['create', '--bundle', b, id]).status, 0);
    // A `start` stopped while it holds the lock (and alive: not a crash).
    const holder = spawn(RUNTS, ['--root', s.root, 'start', id], {
      env: { ...s.env, RUNTS_TEST_PAUSE_AT: 'start:locked' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await new Promise<void>((res) =>
      holder.stderr.on('data', (d) => String(d).includes('paused at') && res()),
    );
    const closed = new Promise((res) => holder.on('close', res));
    const t0 = Date.now();
    const d = await s.runAsync(['delete', '--force', id], { timeout: 30_000 });
    const took = Date.now() - t0;
    await closed;
    assert.deepEqual([d.status, d.stderr], [0, '']);
    assert.ok(took >= 4_000 && took < 15_000, `took ${took} ms`);
    assert.equal(holder.signalCode, 'SIGKILL');
    assertNoLeftovers(s, empty, 'a forced delete that took over a held lock');
  });
});

describe('SIGKILL of start, exec and delete at each phase', () => {
  for (const phase of ['start:locked', 'start:released']) {
    test(phase, async () => {
      const id = `s-${phase.replace(':', '-')}`;
      assert.equal(s.run(['create', '--bundle', b, id]).status, 0);
      assert.ok((await killAtPhase(s, ['start', id], phase)).reached);
      forceDeleteLeavesNothing(id, `a start killed at ${phase}`);
    });
  }

  for (const phase of ['exec:spawned', 'exec:cgroups', 'exec:ready']) {
    test(phase, async () => {
      const id = `e-${phase.replace(':', '-')}`;
      assert.equal(s.run(['run', '-d', '--bundle', b, id]).status, 0);
      assert.ok((await killAtPhase(s, ['exec', id, 'sleep', '1000'], phase)).reached);
      forceDeleteLeavesNothing(id, `an exec killed at ${phase}`);
    });
  }

  for (const phase of ['delete:locked', 'delete:killed', 'delete:cgroups']) {
    test(phase, async () => {
      const id = `d-${phase.replace(':', '-')}`;
      assert.equal(s.run(['run', '-d', '--bundle', b, id]).status, 0);
      assert.ok((await killAtPhase(s, ['delete', '--force', id], phase)).reached);
      forceDeleteLeavesNothing(id, `a delete killed at ${phase}`);
    });
  }
});

describe('other faults', () => {
  test('a full disk under --root: create fails with one line and leaves nothing', (t) => {
    // Outside the suite's directory, whose mounts must stay none.
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-full-'));
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status, 0);
    t.after(() => {
      spawnSync('umount', [mnt]);
      fs.rmdirSync(mnt);
    });
    const root = path.join(mnt, 'state');
    fs.mkdirSync(root);
    // Fill the disk, then free more and more of it: create fails at each of its writes in turn, until it fits.
    const filler = path.join(mnt, 'filler');
    fs.writeFileSync(filler, '');
    try {
      for (;;) fs.appendFileSync(filler, Buffer.alloc(1024));
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    const full = fs.statSync(filler).size;
    let worked = false;
    for (let free = 0; free <= 32 * 1024 && !worked; free += 4096) {
      fs.truncateSync(filler, Math.max(0, full - free));
      const r = spawnSync(RUNTS, ['--root', root, 'create', '--bundle', b, 'full'], {
        encoding: 'utf8',
        env: s.env,
        timeout: 30_000,
      });
      if (r.status === 0) {
        worked = true;
        const d = spawnSync(RUNTS, ['--root', root, 'delete', '--force', 'full'], {
          encoding: 'utf8',
          env: s.env,
        });
        assert.equal(d.status, 0, d.stderr);
      } else {
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /^runts: .*no space left on device.*\n$/i, `free ${free}: ${r.stderr}`);
      }
      assert.deepEqual(fs.readdirSync(root), [], `state left with ${free} bytes free`);
      assertNoLeftovers(s, empty, `a full disk with ${free} bytes free`);
    }
    assert.ok(worked, 'create works once there is room');
  });

  test('the bundle removed between create and start: start runs the process (as runc), delete leaves nothing', () => {
    const dir = s.bundle('echo started');
    assert.equal(s.run(['create', '--bundle', dir, 'gone']).status, 0);
    fs.rmSync(dir, { recursive: true, force: true });
    const r = s.run(['start', 'gone']);
    assert.deepEqual([r.status, r.stderr], [0, '']);
    forceDeleteLeavesNothing('gone', 'a bundle removed before start');
  });

  test('the init killed before start: start says it has stopped, delete leaves nothing', () => {
    assert.equal(s.run(['create', '--bundle', b, 'killed']).status, 0);
    const pid = stateOf('killed').doc!.pid;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && stateOf('killed').doc?.status !== 'stopped'; i++) spawnSync('sleep', ['0.02']);
    const r = s.run(['start', 'killed']);
    assert.deepEqual([r.status, r.stderr], [1, 'runts: cannot start a container that has stopped\n']);
    const d = s.run(['delete', 'killed']);
    assert.deepEqual([d.status, d.stderr], [0, '']);
    assertNoLeftovers(s, empty, 'an init killed before start');
  });
});
