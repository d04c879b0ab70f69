// The command-line parser against runc's (urfave/cli v1 + Go's flag package) forms,
// driven by the real command table. Run: node --import tsx --test test/unit/argv.test.ts

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseFlags, reorderArgs, UsageError, type FlagValues } from '../../src/cli/argv.js';
import { commands, globalFlags, type CommandSpec, type FlagSpec } from '../../src/cli/commands.js';

function command(name: string): CommandSpec {
  const spec = commands.find((c) => c.name === name);
  assert.ok(spec, `no command ${name}`);
  return spec;
}

/** What main.ts does with a command's argv: reorder (unless the command keeps order), then parse. */
function parse(name: string, argv: string[]): { values: FlagValues; rest: string[] } {
  const spec = command(name);
  return parseFlags(spec.keepOrder ? argv : reorderArgs(argv, spec.flags), spec.flags);
}

describe('flag forms', () => {
  test('-flag, --flag, --flag=value and --flag value are the same flag', () => {
    for (const argv of [
      ['-b', '/x', 'id'],
      ['--bundle', '/x', 'id'],
      ['--bundle=/x', 'id'],
      ['-bundle=/x', 'id'],
      ['--b=/x', 'id'],
    ]) {
      const { values, rest } = parse('create', argv);
      assert.equal(values.bundle, '/x', argv.join(' '));
      assert.deepEqual(rest, ['id'], argv.join(' '));
    }
  });

  test('a value may start with "-" when it is separate (--pid-file -x)', () => {
    assert.equal(parse('create', ['--pid-file', '-x', 'id']).values['pid-file'], '-x');
  });

  test('--flag=value keeps everything after the first "="', () => {
    assert.equal(parse('create', ['--bundle=/a=b', 'id']).values.bundle, '/a=b');
  });

  test('defaults apply when a flag is absent', () => {
    assert.equal(parse('create', ['id']).values['preserve-fds'], 0);
    assert.equal(parseFlags([], globalFlags).values.root, '/run/runts');
    assert.equal(parseFlags([], globalFlags).values['log-format'], 'text');
  });

  test('int flags parse decimal, negative included, and refuse the rest', () => {
    assert.equal(parse('create', ['--preserve-fds', '3', 'id']).values['preserve-fds'], 3);
    assert.equal(parse('create', ['--preserve-fds=-1', 'id']).values['preserve-fds'], -1);
    assert.throws(
      () => parse('create', ['--preserve-fds', 'x', 'id']),
      (e: Error) =>
        e instanceof UsageError && e.message === 'invalid value "x" for flag -preserve-fds: parse error',
    );
  });

  test('repeated string-list flags accumulate in order', () => {
    const { values } = parse('exec', ['-e', 'A=1', '--env=B=2', '--env', 'C=3', 'id', 'sh']);
    assert.deepEqual(values.env, ['A=1', 'B=2', 'C=3']);
  });

  test('a flag without its value is a usage error', () => {
    assert.throws(
      () => parse('create', ['--bundle']),
      (e: Error) => e instanceof UsageError && e.message === 'flag needs an argument: -bundle',
    );
  });
});

describe('booleans', () => {
  test('a bare boolean is true and takes no value', () => {
    const { values, rest } = parse('delete', ['--force', 'id']);
    assert.equal(values.force, true);
    assert.deepEqual(rest, ['id']);
  });

  test('Go spellings of true and false after "="', () => {
    for (const t of ['1', 't', 'true', 'TRUE', 'True'])
      assert.equal(parse('delete', [`--force=${t}`, 'id']).values.force, true, t);
    for (const f of ['0', 'f', 'false', 'FALSE', 'False'])
      assert.equal(parse('delete', [`--force=${f}`, 'id']).values.force, false, f);
  });

  test('any other boolean value is a usage error naming it', () => {
    assert.throws(
      () => parse('delete', ['--force=yes', 'id']),
      (e: Error) => e instanceof UsageError && e.message === 'invalid boolean value "yes" for -force',
    );
  });

  test('an alias sets the flag under its long name', () => {
    assert.equal(parse('kill', ['-a', 'id', 'KILL']).values.all, true);
    assert.equal(parseFlags(['-v'], globalFlags).values.version, true);
  });
});

describe('flags after the container ID (urfave/cli reordering)', () => {
  test('update ID --memory 1M', () => {
    const { values, rest } = parse('update', ['id', '--memory', '1M']);
    assert.equal(values.memory, '1M');
    assert.deepEqual(rest, ['id']);
  });

  test('delete ID --force', () => {
    const { values, rest } = parse('delete', ['id', '--force']);
    assert.equal(values.force, true);
    assert.deepEqual(rest, ['id']);
  });

  test('as runc, the argument after a boolean moves with it: kill ID --all 9 is kill --all 9 ID', () => {
    assert.deepEqual(reorderArgs(['id', '--all', '9'], command('kill').flags), ['--all', '9', 'id']);
    const { values, rest } = parse('kill', ['id', '--all', '9']);
    assert.equal(values.all, true);
    assert.deepEqual(rest, ['9', 'id']);
  });

  test('"--" ends the reordering and leads the rest', () => {
    assert.deepEqual(reorderArgs(['id', '--', '--force'], command('delete').flags), ['--', 'id', '--force']);
    const { values, rest } = parse('delete', ['id', '--', '--force']);
    assert.equal(values.force, undefined);
    assert.deepEqual(rest, ['id', '--force']);
  });

  test('unknown flags are not moved by the reordering, and then refused', () => {
    assert.deepEqual(reorderArgs(['id', '--nope', '--force'], command('delete').flags), [
      '--force',
      'id',
      '--nope',
    ]);
    assert.throws(
      () => parse('delete', ['--nope', 'id']),
      (e: Error) => e instanceof UsageError && e.message === 'flag provided but not defined: -nope',
    );
  });

  test('reordering keeps every argument (a permutation)', () => {
    const flags = command('update').flags;
    const arg = fc.oneof(
      fc.constantFrom('id', '--memory', '-r', '--pids-limit=3', '--', 'x', '-'),
      fc.string(),
    );
    fc.assert(
      fc.property(fc.array(arg, { maxLength: 12 }), (argv) => {
        assert.deepEqual([...reorderArgs(argv, flags)].sort(), [...argv].sort());
      }),
    );
  });
});

describe('commands that keep their order (exec, ps)', () => {
  test("exec ID sh -c 'x' leaves -c to the container's command", () => {
    const { values, rest } = parse('exec', ['--tty', 'id', 'sh', '-c', 'echo hi']);
    assert.equal(values.tty, true);
    assert.equal(values.cap, undefined);
    assert.deepEqual(rest, ['id', 'sh', '-c', 'echo hi']);
  });

  test('ps ID -ef passes -ef to ps', () => {
    const { values, rest } = parse('ps', ['--format', 'json', 'id', '-ef']);
    assert.equal(values.format, 'json');
    assert.deepEqual(rest, ['id', '-ef']);
  });

  test('a lone "-" is a positional', () => {
    assert.deepEqual(parse('exec', ['id', '-']).rest, ['id', '-']);
    assert.deepEqual(parseFlags(['-', '--force'], command('delete').flags).rest, ['-', '--force']);
  });
});

describe('the command table', () => {
  test('names, flags and aliases are unique within each command (global flags included)', () => {
    const names = new Set<string>();
    for (const c of commands) {
      assert.ok(!names.has(c.name), `command ${c.name} twice`);
      names.add(c.name);
      const seen = new Set<string>();
      for (const f of [...c.flags]) {
        for (const n of [f.name, f.alias]) {
          if (n === undefined) continue;
          assert.ok(!seen.has(n), `${c.name}: flag ${n} twice`);
          seen.add(n);
        }
      }
    }
  });

  test("every flag default has the flag's type", () => {
    for (const f of [...globalFlags, ...commands.flatMap((c) => c.flags)] as FlagSpec[]) {
      if (f.default === undefined) continue;
      const want = f.type === 'bool' ? 'boolean' : f.type === 'int' ? 'number' : 'string';
      assert.equal(typeof f.default, want, f.name);
    }
  });
});

test('as runc, a trailing value flag takes the ID moved behind it (create ID --bundle)', () => {
  assert.deepEqual(parse('create', ['id', '--bundle']), {
    values: { bundle: 'id', 'preserve-fds': 0 },
    rest: [],
  });
});
