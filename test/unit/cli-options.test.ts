// cli/commands.ts: each command's flags reach its handler as typed, camelCase options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commands, globalFlags, toOptions } from '../../src/cli/commands.js';
import { parseFlags } from '../../src/cli/argv.js';

test('global flags as options: defaults present, camelCase names', () => {
  const { values } = parseFlags(['--log-format', 'json', '--systemd-cgroup'], globalFlags);
  const g = toOptions(globalFlags, values);
  assert.equal(g.root, '/run/runts');
  assert.equal(g.logFormat, 'json');
  assert.equal(g.systemdCgroup, true);
  assert.equal(g.debug, undefined);
});

test('exec flags as options: repeated flags collect, ints parse', () => {
  const exec = commands.find((c) => c.name === 'exec');
  assert.ok(exec);
  const { values, rest } = parseFlags(
    ['-e', 'A=1', '--env', 'B=2', '--preserve-fds', '2', '--pid-file=/p', 'id', 'sh'],
    exec.flags,
  );
  const o = toOptions(exec.flags, values);
  assert.deepEqual(o.env, ['A=1', 'B=2']);
  assert.equal(o.preserveFds, 2);
  assert.equal(o.pidFile, '/p');
  assert.deepEqual(rest, ['id', 'sh']);
});
