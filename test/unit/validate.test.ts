// config.json validation as functions (the CLI's view is test/integration/validation.test.ts): every
// violation is reported at once, each named by its JSON path, in document order; the
// semantic checks the schema cannot express; the other generated validators.
// Run: node --import tsx --test test/unit/validate.test.ts

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  checkConfig,
  describeIssues,
  describeSchemaErrors,
  formatPath,
  processIssues,
  type ConfigIssue,
} from '../../src/spec/validate.js';
import { validateConfig, validateRuncState, validateState } from '../../src/spec/validators.gen.js';
import { defaultSpec } from '../../src/spec/defaults.js';

type Config = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- configs are mutated freely to break them

function minimal(): Config {
  return {
    ociVersion: '1.2.0',
    root: { path: 'rootfs' },
    process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } },
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] },
  };
}

const lines = (issues: ConfigIssue[]) => issues.map((i) => `${i.path}: ${i.message}`);

describe('formatPath', () => {
  test('keys, indexes, keys that are not identifiers, and the document', () => {
    assert.equal(formatPath([]), '(root)');
    assert.equal(formatPath(['mounts', 2, 'destination']), 'mounts[2].destination');
    assert.equal(
      formatPath(['linux', 'sysctl', 'net.ipv4.ip_forward']),
      'linux.sysctl["net.ipv4.ip_forward"]',
    );
    assert.equal(formatPath(['annotations', '']), 'annotations[""]');
    assert.equal(formatPath([0, 'x']), '[0].x');
  });
});

describe('checkConfig', () => {
  test("the minimal config and runts spec's default pass", () => {
    assert.deepEqual(checkConfig(minimal()), []);
    assert.deepEqual(checkConfig(defaultSpec({ rootless: false })), []);
    assert.deepEqual(checkConfig(defaultSpec({ rootless: true })), []);
  });

  test('every violation at once, in document order, each with its path', () => {
    const c = minimal();
    c.ociVersion = 'x';
    c.process.cwd = 'relative';
    c.process.env = ['NOEQUALS'];
    c.process.user.uid = -1;
    c.mounts = [{ destination: 'rel', type: 'tmpfs' }, { type: 'proc' }];
    c.hostname = 'h';
    c.linux.namespaces.push({ type: 'pid' });
    assert.deepEqual(lines(checkConfig(c)), [
      'ociVersion: must be a SemVer version such as 1.2.0',
      'process.cwd: must be an absolute path',
      'process.user.uid: must not be negative',
      'process.env[0]: must have the form NAME=value (got "NOEQUALS")',
      'linux.namespaces[2].type: duplicates linux.namespaces[0] (each type may appear once)',
      'mounts[0].destination: must be an absolute path',
      'mounts[1].destination: is required',
      'hostname: cannot be set without a uts namespace in linux.namespaces',
    ]);
  });

  test('a value of the wrong type gives one message, not a cascade of semantic ones', () => {
    const c = minimal();
    c.process.env = 'A=1';
    assert.deepEqual(lines(checkConfig(c)), ['process.env: must be an array (got "A=1")']);
  });

  test('semantic checks the schema cannot express', () => {
    const cases: Array<[(c: Config) => void, string, RegExp]> = [
      [
        (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]),
        'linux.uidMappings',
        /requires a user namespace/,
      ],
      [
        (c) => c.linux.namespaces.push({ type: 'user' }),
        'linux.uidMappings',
        /is required when creating a new user namespace/,
      ],
      [
        (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 2, hard: 1 }]),
        'process.rlimits[0].soft',
        /must not exceed hard/,
      ],
      [
        (c) => (c.process.rlimits = [{ type: 'RLIMIT_NOPE', soft: 1, hard: 1 }]),
        'process.rlimits[0].type',
        /not a known resource limit/,
      ],
      [
        (c) => (c.linux.sysctl = { 'net.ipv4.ip_forward': '1' }),
        'linux.sysctl["net.ipv4.ip_forward"]',
        /network namespace/,
      ],
      [(c) => (c.linux.maskedPaths = ['proc/kcore']), 'linux.maskedPaths[0]', /must be an absolute path/],
      [
        (c) => (c.linux.devices = [{ path: '/dev/x', type: 'c' }]),
        'linux.devices[0].major',
        /is required for device type "c"/,
      ],
      [
        (c) => (c.hooks = { prestart: [{ path: 'rel' }] }),
        'hooks.prestart[0].path',
        /must be an absolute path/,
      ],
      [(c) => (c.annotations = { '': 'x' }), 'annotations[""]', /keys must not be empty/],
      [
        (c) => (c.mounts = [{ destination: '/x', uidMappings: [{ containerID: 0, hostID: 0, size: 1 }] }]),
        'mounts[0].gidMappings',
        /is required with uidMappings/,
      ],
      [
        (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_NOTIFY' }),
        'linux.seccomp.defaultAction',
        /cannot be SCMP_ACT_NOTIFY/,
      ],
      [
        (c) => (c.process.capabilities = { bounding: ['CHOWN'] }),
        'process.capabilities.bounding[0]',
        /must be a capability name/,
      ],
      [(c) => (c.root.path = ''), 'root.path', /must not be empty/],
      [(c) => delete c.process, 'process', /is required/],
    ];
    for (const [mutate, path, message] of cases) {
      const c = minimal();
      mutate(c);
      const issues = checkConfig(c);
      assert.ok(
        issues.some((i) => i.path === path && message.test(i.message)),
        `expected ${path}: ${message}, got\n${lines(issues).join('\n')}`,
      );
    }
  });

  test('a number of the wrong type is quoted as the source wrote it', () => {
    const c = minimal();
    c.process.terminal = Infinity; // what JSON.parse makes of 1e400
    const issues = checkConfig(c, new Map([['process.terminal', '1e400']]));
    assert.deepEqual(lines(issues), ['process.terminal: must be a boolean (got 1e400)']);
  });

  test('never throws, and every issue has a path and a message, on any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        for (const i of checkConfig(v)) {
          assert.ok(i.path.length > 0 && i.message.length > 0);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('never throws on a valid config with any one field replaced by junk', () => {
    const fields = ['ociVersion', 'root', 'process', 'hostname', 'mounts', 'linux', 'hooks', 'annotations'];
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.jsonValue({ maxDepth: 3 }), (field, junk) => {
        const c: Config = defaultSpec({ rootless: false });
        c[field] = junk;
        checkConfig(c);
      }),
      { numRuns: 300 },
    );
  });
});

describe("processIssues (exec's process.json)", () => {
  test('paths are relative to the process', () => {
    assert.deepEqual(lines(processIssues({ cwd: 'x', args: [], env: ['=x'] })), [
      'cwd: must be an absolute path',
      'args: must not be empty',
      'env[0]: must have the form NAME=value (got "=x")',
    ]);
    assert.deepEqual(processIssues('not an object'), []);
  });
});

describe('describeIssues', () => {
  test('one issue: one line; several: a count, the first, then each', () => {
    const one: ConfigIssue[] = [{ path: 'a', message: 'is bad' }];
    assert.equal(describeIssues('config.json', one), 'config.json: a: is bad');
    const two: ConfigIssue[] = [...one, { path: 'b[0]', message: 'is worse' }];
    assert.equal(
      describeIssues('config.json', two),
      'config.json: 2 problems; first: a: is bad\n  a: is bad\n  b[0]: is worse',
    );
  });
});

describe('the other generated validators', () => {
  test('a state document: each missing field named', () => {
    const doc = { ociVersion: '1.2.0', id: 'c', status: 'sleeping' };
    assert.equal(validateState(doc), false);
    const issues = lines(describeSchemaErrors(validateState.errors ?? [], doc));
    assert.ok(
      issues.some((l) => l.startsWith('status: ')),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((l) => l.startsWith('bundle: ') || l.startsWith('(root)')),
      issues.join('\n'),
    );
  });

  test("runc's state output shape", () => {
    const ok = {
      ociVersion: '1.0.2',
      id: 'c',
      pid: 0,
      status: 'stopped',
      bundle: '/b',
      rootfs: '/b/rootfs',
      created: '2024-01-01T00:00:00Z',
      owner: '',
    };
    assert.equal(validateRuncState(ok), true, JSON.stringify(validateRuncState.errors));
  });

  test('validateConfig is a type guard agreeing with checkConfig on schema errors', () => {
    assert.equal(validateConfig(minimal()), true);
    assert.equal(validateConfig({}), false);
  });
});
