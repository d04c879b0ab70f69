// container/status.ts: what each status allows (runc's checks in its commands).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusCheck } from '../../src/container/status.js';

const of = (s: 'created' | 'running' | 'paused' | 'stopped') => new StatusCheck(s);

test('start: only a created container', () => {
  assert.deepEqual(
    (['created', 'running', 'paused', 'stopped'] as const).map((s) => of(s).canStart()),
    [true, false, false, false],
  );
});

test('exec: created or running; paused only when told to ignore it; never stopped', () => {
  assert.equal(of('created').canExec(false), true);
  assert.equal(of('running').canExec(false), true);
  assert.equal(of('paused').canExec(false), false);
  assert.equal(of('paused').canExec(true), true);
  assert.equal(of('stopped').canExec(true), false);
});

test('pause, resume, kill and delete', () => {
  assert.deepEqual(
    (['created', 'running', 'paused', 'stopped'] as const).map((s) => of(s).canPause()),
    [true, true, false, false],
  );
  assert.deepEqual(
    (['created', 'running', 'paused', 'stopped'] as const).map((s) => of(s).canResume()),
    [false, false, true, false],
  );
  assert.deepEqual(
    (['created', 'running', 'paused', 'stopped'] as const).map((s) => of(s).canKill()),
    [true, true, true, false],
  );
  assert.deepEqual(
    (['created', 'running', 'paused', 'stopped'] as const).map((s) => of(s).canDelete(false)),
    [true, false, false, true],
  );
  assert.equal(of('running').canDelete(true), true);
});
