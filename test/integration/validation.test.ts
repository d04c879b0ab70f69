// config.json validation: schema errors, semantic checks, JSON syntax errors and the
// configs that real engines produce. Run: node --import tsx --test test/integration/validation.test.ts

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import { loadBundleConfig, parseConfigText } from '../../src/spec/load.js';
import { defaultSpec } from '../../src/spec/defaults.js';
import { featuresDocument } from '../../src/spec/features.js';
import { checkConfig, describeSchemaErrors, type ConfigIssue } from '../../src/spec/validate.js';
import { validateFeatures, validateRuncState, validateState } from '../../src/spec/validators.gen.js';
import { containerSuite, runts, RUNTS } from '../helpers.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** The smallest config runts accepts. */
function minimal(): Json {
  return {
    ociVersion: '1.2.0',
    root: { path: 'rootfs' },
    process: { cwd: '/', args: ['sh'], user: { uid: 0, gid: 0 } },
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] },
  };
}

function issuesAfter(mutate: (c: Json) => void): ConfigIssue[] {
  const config = minimal();
  mutate(config);
  return checkConfig(config);
}

/** Asserts an issue with exactly this path exists (and, if given, a matching message). */
function assertIssue(issues: ConfigIssue[], path: string, message?: RegExp | string): void {
  const show = () => issues.map((i) => `${i.path}: ${i.message}`).join('\n') || '(no issues)';
  const atPath = issues.filter((i) => i.path === path);
  assert.ok(atPath.length > 0, `expected an issue at ${path}, got:\n${show()}`);
  if (message !== undefined) {
    const ok = atPath.some((i) =>
      typeof message === 'string' ? i.message === message : message.test(i.message),
    );
    assert.ok(ok, `expected ${path} to say ${message}, got:\n${show()}`);
  }
}

function fixture(name: string): Json {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
}

describe('valid configs pass', () => {
  test('minimal config', () => {
    assert.deepEqual(checkConfig(minimal()), []);
  });

  test('runc 1.1.5 `runc spec`', () => {
    assert.deepEqual(checkConfig(fixture('runc-1.1.5-spec.json')), []);
  });

  test('runc 1.1.5 `runc spec --rootless`', () => {
    assert.deepEqual(checkConfig(fixture('runc-1.1.5-spec-rootless.json')), []);
  });

  test('a docker-style config (seccomp, hooks, cgroup limits, uint64 max rlimit)', () => {
    assert.deepEqual(checkConfig(fixture('docker-style-config.json')), []);
  });

  test('`runc spec` from the installed runc, when there is one', (t) => {
    const runc = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => existsSync(p));
    if (!runc) {
      t.skip('runc not installed');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'runts-spec-'));
    try {
      for (const args of [['spec'], ['spec', '--rootless']]) {
        rmSync(join(dir, 'config.json'), { force: true });
        execFileSync(runc, args, { cwd: dir });
        assert.deepEqual(
          checkConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))),
          [],
          args.join(' '),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("what `runts spec` writes passes runts's own validation", () => {
    assert.deepEqual(checkConfig(defaultSpec({ rootless: false })), []);
    assert.deepEqual(checkConfig(defaultSpec({ rootless: true })), []);
  });

  test('extension fields are allowed, as in the upstream schema', () => {
    const issues = issuesAfter((c) => {
      c.windows = { layerFolders: [] };
      c['io.example.extra'] = true;
      c.process.somethingNew = { x: 1 };
      c.linux.resources = { memory: { limit: -1, futureKnob: 'on' } };
    });
    assert.deepEqual(issues, []);
  });

  test('joining a user namespace by path while also giving mappings is accepted (containerd, CRI-O)', () => {
    const issues = issuesAfter((c) => {
      c.linux.namespaces.push({ type: 'user', path: '/proc/4242/ns/user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.rootfsPropagation = 'rslave';
      c.linux.cgroupsPath = '/kubepods/besteffort/pod1234/abcd';
    });
    assert.deepEqual(issues, []);
  });
});

describe('broken configs name the offending field', () => {
  test('missing ociVersion', () => {
    assertIssue(
      issuesAfter((c) => delete c.ociVersion),
      'ociVersion',
      'is required',
    );
  });

  test('ociVersion that is not SemVer', () => {
    assertIssue(
      issuesAfter((c) => (c.ociVersion = '1.0')),
      'ociVersion',
      /SemVer/,
    );
  });

  test('wrong type: boolean field given a string', () => {
    assertIssue(
      issuesAfter((c) => (c.process.terminal = 'yes')),
      'process.terminal',
      /^must be a boolean/,
    );
  });

  test('string where an integer is required', () => {
    assertIssue(
      issuesAfter((c) => (c.linux.resources = { pids: { limit: '100' } })),
      'linux.resources.pids.limit',
      /^must be an integer/,
    );
  });

  test('fractional number where an integer is required', () => {
    assertIssue(
      issuesAfter((c) => (c.process.user.gid = 1.5)),
      'process.user.gid',
      /^must be an integer/,
    );
  });

  test('unknown namespace type', () => {
    assertIssue(
      issuesAfter((c) => c.linux.namespaces.push({ type: 'net' })),
      'linux.namespaces[2].type',
      'must be one of: pid, network, mount, ipc, uts, user, cgroup, time',
    );
  });

  test('duplicate namespace', () => {
    assertIssue(
      issuesAfter((c) => c.linux.namespaces.push({ type: 'pid' })),
      'linux.namespaces[2].type',
      /duplicates linux\.namespaces\[0\]/,
    );
  });

  test('relative namespace path', () => {
    assertIssue(
      issuesAfter((c) => (c.linux.namespaces[0].path = 'proc/1/ns/pid')),
      'linux.namespaces[0].path',
      'must be an absolute path',
    );
  });

  test('relative mount destination', () => {
    const issues = issuesAfter((c) => {
      c.mounts = [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/tmp', type: 'tmpfs', source: 'tmpfs' },
        { destination: 'data', type: 'bind', source: '/srv/data', options: ['rbind'] },
      ];
    });
    assertIssue(issues, 'mounts[2].destination', 'must be an absolute path');
  });

  test('mount without destination', () => {
    assertIssue(
      issuesAfter((c) => (c.mounts = [{ source: 'proc', type: 'proc' }])),
      'mounts[0].destination',
      'is required',
    );
  });

  test('negative memory limit (other than -1)', () => {
    assertIssue(
      issuesAfter((c) => (c.linux.resources = { memory: { limit: -5 } })),
      'linux.resources.memory.limit',
      'must be -1 (unlimited) or a non-negative number',
    );
  });

  test('negative uid', () => {
    assertIssue(
      issuesAfter((c) => (c.process.user.uid = -1)),
      'process.user.uid',
      'must not be negative',
    );
  });

  test('uid beyond uint32', () => {
    assertIssue(
      issuesAfter((c) => (c.process.user.uid = 4294967296)),
      'process.user.uid',
      'must be at most 4294967295',
    );
  });

  test('negative rlimit (uint64)', () => {
    assertIssue(
      issuesAfter((c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: -1, hard: 1024 }])),
      'process.rlimits[0].soft',
      'must not be negative',
    );
  });

  test('unknown rlimit', () => {
    assertIssue(
      issuesAfter((c) => (c.process.rlimits = [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }])),
      'process.rlimits[0].type',
      /not a known resource limit/,
    );
  });

  test('rlimit not named RLIMIT_*', () => {
    assertIssue(
      issuesAfter((c) => (c.process.rlimits = [{ type: 'nofile', soft: 1, hard: 1 }])),
      'process.rlimits[0].type',
      /RLIMIT_\*/,
    );
  });

  test('duplicate rlimit type', () => {
    const issues = issuesAfter((c) => {
      c.process.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 },
        { type: 'RLIMIT_NOFILE', soft: 2048, hard: 2048 },
      ];
    });
    assertIssue(issues, 'process.rlimits[1].type', /duplicates process\.rlimits\[0\]/);
  });

  test('rlimit soft above hard', () => {
    assertIssue(
      issuesAfter((c) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 4096, hard: 1024 }])),
      'process.rlimits[0].soft',
      'must not exceed hard',
    );
  });

  test('uidMappings without a user namespace', () => {
    assertIssue(
      issuesAfter((c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }])),
      'linux.uidMappings',
      'requires a user namespace in linux.namespaces',
    );
  });

  test('new user namespace without mappings', () => {
    const issues = issuesAfter((c) => c.linux.namespaces.push({ type: 'user' }));
    assertIssue(issues, 'linux.uidMappings', /is required/);
    assertIssue(issues, 'linux.gidMappings', /is required/);
  });

  test('non-absolute cwd', () => {
    assertIssue(
      issuesAfter((c) => (c.process.cwd = 'home/user')),
      'process.cwd',
      'must be an absolute path',
    );
  });

  test('missing cwd', () => {
    assertIssue(
      issuesAfter((c) => delete c.process.cwd),
      'process.cwd',
      'is required',
    );
  });

  test('empty args', () => {
    assertIssue(
      issuesAfter((c) => (c.process.args = [])),
      'process.args',
      'must not be empty',
    );
  });

  test('missing process (runc needs one)', () => {
    assertIssue(
      issuesAfter((c) => delete c.process),
      'process',
      'is required',
    );
  });

  test('missing root path', () => {
    assertIssue(
      issuesAfter((c) => (c.root = { readonly: true })),
      'root.path',
      'is required',
    );
  });

  test('bad capability name', () => {
    assertIssue(
      issuesAfter((c) => (c.process.capabilities = { bounding: ['CAP_KILL', 'cap_chown'] })),
      'process.capabilities.bounding[1]',
      /capability name/,
    );
  });

  test('environment entry without "="', () => {
    assertIssue(
      issuesAfter((c) => (c.process.env = ['PATH=/bin', 'JUNK'])),
      'process.env[1]',
      /NAME=value/,
    );
  });

  test('relative hook path', () => {
    assertIssue(
      issuesAfter((c) => (c.hooks = { createRuntime: [{ path: 'bin/hook' }] })),
      'hooks.createRuntime[0].path',
      'must be an absolute path',
    );
  });

  test('hook timeout of zero', () => {
    assertIssue(
      issuesAfter((c) => (c.hooks = { poststop: [{ path: '/bin/true', timeout: 0 }] })),
      'hooks.poststop[0].timeout',
      'must be at least 1',
    );
  });

  test('time offsets without a time namespace', () => {
    assertIssue(
      issuesAfter((c) => (c.linux.timeOffsets = { monotonic: { secs: 10 } })),
      'linux.timeOffsets',
      'requires a time namespace in linux.namespaces',
    );
  });

  test('unknown clock in time offsets', () => {
    const issues = issuesAfter((c) => {
      c.linux.namespaces.push({ type: 'time' });
      c.linux.timeOffsets = { realtime: { secs: 10 } };
    });
    assertIssue(issues, 'linux.timeOffsets.realtime', /monotonic or boottime/);
  });

  test('net sysctl without a network namespace', () => {
    assertIssue(
      issuesAfter((c) => (c.linux.sysctl = { 'net.ipv4.ip_forward': '1' })),
      'linux.sysctl["net.ipv4.ip_forward"]',
      'requires a network namespace in linux.namespaces',
    );
  });

  test('user.* sysctls need a user namespace', () => {
    assertIssue(
      issuesAfter((c) => (c.linux.sysctl = { 'user.max_user_namespaces': '10' })),
      'linux.sysctl["user.max_user_namespaces"]',
      'requires a user namespace in linux.namespaces',
    );
    const ok = issuesAfter((c) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.sysctl = { 'user.max_user_namespaces': '10' };
    });
    assert.deepEqual(ok, []);
  });

  test('malformed sysctl key', () => {
    const issues = issuesAfter((c) => {
      c.linux.namespaces.push({ type: 'network' });
      c.linux.sysctl = { 'net..ipv4': '1', 'net/../../etc': 'x' };
    });
    assertIssue(issues, 'linux.sysctl["net..ipv4"]', 'is not a valid sysctl name');
    assertIssue(issues, 'linux.sysctl["net/../../etc"]', 'is not a valid sysctl name');
  });

  test('sysctl value that is not a string', () => {
    const issues = issuesAfter((c) => {
      c.linux.namespaces.push({ type: 'ipc' });
      c.linux.sysctl = { 'kernel.shmmax': 1024 };
    });
    assertIssue(issues, 'linux.sysctl["kernel.shmmax"]', /^must be a string/);
  });

  test('unknown seccomp action', () => {
    const issues = issuesAfter((c) => {
      c.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mount'], action: 'SCMP_ACT_DENY' }],
      };
    });
    assertIssue(issues, 'linux.seccomp.syscalls[0].action', /^must be one of: SCMP_ACT_KILL, /);
  });

  test('seccomp argument index out of range', () => {
    const issues = issuesAfter((c) => {
      c.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['ioctl'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] },
        ],
      };
    });
    assertIssue(issues, 'linux.seccomp.syscalls[0].args[0].index', /at most 5/);
  });

  test('errnoRet with an action that returns no errno', () => {
    const issues = issuesAfter((c) => {
      c.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['ptrace'], action: 'SCMP_ACT_KILL', errnoRet: 1 }],
      };
    });
    assertIssue(issues, 'linux.seccomp.syscalls[0].errnoRet', /SCMP_ACT_ERRNO/);
  });

  test('device of unknown type, and a char device without major/minor', () => {
    const issues = issuesAfter(
      (c) =>
        (c.linux.devices = [
          { path: '/dev/foo', type: 'x' },
          { path: '/dev/bar', type: 'c' },
        ]),
    );
    assertIssue(issues, 'linux.devices[0].type', 'must be one of: c, b, u, p');
    assertIssue(issues, 'linux.devices[1].major', 'is required for device type "c"');
  });

  test('bad rootfsPropagation', () => {
    assertIssue(
      issuesAfter((c) => (c.linux.rootfsPropagation = 'recursive')),
      'linux.rootfsPropagation',
      /^must be one of: "", private, /,
    );
  });

  test('hostname without a uts namespace', () => {
    assertIssue(
      issuesAfter((c) => (c.hostname = 'box')),
      'hostname',
      /uts namespace/,
    );
  });

  test('relative masked path', () => {
    assertIssue(
      issuesAfter((c) => (c.linux.maskedPaths = ['/proc/kcore', 'sys/firmware'])),
      'linux.maskedPaths[1]',
      'must be an absolute path',
    );
  });

  test('hugepage size in the wrong form', () => {
    assertIssue(
      issuesAfter((c) => (c.linux.resources = { hugepageLimits: [{ pageSize: '2M', limit: 1 }] })),
      'linux.resources.hugepageLimits[0].pageSize',
      'must be a page size such as 2MB or 1GB',
    );
  });

  test('document that is not an object', () => {
    assert.deepEqual(checkConfig([]), [{ path: '(root)', message: 'must be an object (got an array)' }]);
  });

  test('a wrongly typed subtree gives one message, not a cascade', () => {
    const issues = issuesAfter((c) => {
      c.hostname = 'box'; // would need a uts namespace, but the namespace list is unusable
      c.linux.namespaces = 'pid,mount';
    });
    assert.deepEqual(issues, [{ path: 'linux.namespaces', message: 'must be an array (got "pid,mount")' }]);
  });
});

describe('parseConfigText and loadBundleConfig', () => {
  test('malformed JSON is reported with line and column', () => {
    const text = '{\n  "ociVersion": "1.2.0",\n  "process": {\n    "cwd": "/"\n    "args": ["sh"]\n  }\n}\n';
    assert.throws(
      () => parseConfigText(text, '/b/config.json'),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.equal(
          err.message,
          "/b/config.json: invalid JSON at line 5 column 5: expected ',' or '}' after property value",
        );
        return true;
      },
    );
  });

  test('a JSON error V8 reports without a position still gets line and column', () => {
    assert.throws(() => parseConfigText('{\n  "a": tru}', 'config.json'), {
      message: "config.json: invalid JSON at line 2 column 11: unexpected character '}'",
    });
    assert.throws(() => parseConfigText('{\n  "a": [1,\n  ]}', 'config.json'), {
      message: "config.json: invalid JSON at line 3 column 3: unexpected character ']'",
    });
    // Control characters are shown escaped, not raw.
    assert.throws(() => parseConfigText('{"a": tru\n}', 'config.json'), {
      message: "config.json: invalid JSON at line 1 column 10: unexpected character '\\n'",
    });
  });

  test('truncated JSON points at the end', () => {
    assert.throws(() => parseConfigText('{\n  "ociVersion": "1.2.0",\n', 'config.json'), /line 3 column 1/);
  });

  test('all violations are reported, one per line', () => {
    const config = minimal();
    delete config.ociVersion;
    config.process.cwd = 'relative';
    config.linux.namespaces.push({ type: 'bogus' });
    assert.throws(
      () => parseConfigText(JSON.stringify(config), 'config.json'),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.equal(err.exitCode, 1);
        const [head, ...lines] = err.message.split('\n');
        // The first line alone is a complete summary: clients keep only one line.
        assert.equal(head, `invalid config.json: 3 problems; first: ${lines[0]?.trim()}`);
        assert.equal(lines.length, 3, err.message);
        assert.ok(lines.every((l) => l.startsWith('  ')));
        assert.ok(lines.some((l) => l.startsWith('  ociVersion: ')));
        assert.ok(lines.some((l) => l.startsWith('  process.cwd: ')));
        assert.ok(lines.some((l) => l.startsWith('  linux.namespaces[2].type: ')));
        return true;
      },
    );
  });

  test('a missing config.json is a clear UserError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runts-bundle-'));
    try {
      assert.throws(
        () => loadBundleConfig(dir),
        (err: unknown) => {
          assert.ok(err instanceof UserError);
          assert.equal(err.message, `open ${join(dir, 'config.json')}: no such file or directory`);
          return true;
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a config.json past 64 MiB is refused before it is read (issue 14.3)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runts-bundle-'));
    try {
      const file = join(dir, 'config.json');
      writeFileSync(file, '');
      truncateSync(file, 64 * 1024 * 1024 + 1); // sparse: nothing to read if it were read
      const t0 = performance.now();
      assert.throws(() => loadBundleConfig(dir), {
        message: `${file}: too large (67108865 bytes; at most 67108864)`,
      });
      assert.ok(performance.now() - t0 < 1000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('parsing and checking cost linear time: 10 MB of annotations in well under 2 s', () => {
    const c = minimal();
    c.annotations = {};
    for (let i = 0; i < 10000; i++) c.annotations[`k.${i}`] = 'v'.repeat(1000);
    const text = JSON.stringify(c);
    const t0 = performance.now();
    parseConfigText(text, 'config.json');
    assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
  });

  test('a valid bundle loads as a Spec, BOM and all', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runts-bundle-'));
    try {
      writeFileSync(
        join(dir, 'config.json'),
        '\uFEFF' + readFileSync(join(FIXTURES, 'runc-1.1.5-spec.json'), 'utf8'),
      );
      const spec = loadBundleConfig(dir);
      assert.equal(spec.root?.path, 'rootfs');
      assert.deepEqual(spec.process?.args, ['sh']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('other generated validators', () => {
  test('features document', () => {
    const features = {
      ociVersionMin: '1.0.0',
      ociVersionMax: '1.2.0',
      hooks: ['prestart', 'createRuntime'],
      linux: {
        namespaces: ['pid', 'user'],
        capabilities: ['CAP_CHOWN'],
        cgroup: { v2: true },
        seccomp: { enabled: true },
      },
    };
    assert.equal(validateFeatures(features), true);
    assert.equal(validateFeatures({ ...features, ociVersionMax: undefined }), false);
    assert.equal(validateFeatures({ ...features, linux: { capabilities: ['chown'] } }), false);
  });

  test('what `runts features` prints is a valid features document', () => {
    const doc = featuresDocument();
    assert.ok(
      validateFeatures(doc),
      JSON.stringify(describeSchemaErrors(validateFeatures.errors ?? [], doc)),
    );
  });

  test('runtime-spec state: pid is required while created or running', () => {
    const state = { ociVersion: '1.2.0', id: 'c1', status: 'running', pid: 42, bundle: '/b' };
    assert.equal(validateState(state), true);
    assert.equal(validateState({ ...state, status: 'stopped', pid: undefined }), true);
    assert.equal(validateState({ ...state, pid: undefined }), false);
  });

  test('runc state output', () => {
    const state = {
      ociVersion: '1.0.2-dev',
      id: 'c1',
      pid: 0,
      status: 'stopped',
      bundle: '/b',
      rootfs: '/b/rootfs',
      created: '2024-01-31T12:00:00.123456789Z',
      owner: '',
    };
    assert.equal(validateRuncState(state), true);
    assert.equal(validateRuncState({ ...state, created: 'yesterday' }), false);
    assert.equal(validateRuncState({ ...state, extra: 1 }), false);
  });
});

describe('ids, process settings and error texts (issue 21)', () => {
  test('uids and gids beyond 2147483647 are refused as runc refuses them', () => {
    const range = /^uids and gids must be in range 0-2147483647 \(got \d+\)$/;
    assertIssue(
      issuesAfter((c) => (c.process.user = { uid: 4294967295, gid: 0 })),
      'process.user.uid',
      range,
    );
    assertIssue(
      issuesAfter((c) => (c.process.user = { uid: 0, gid: 2147483648 })),
      'process.user.gid',
      range,
    );
    assertIssue(
      issuesAfter((c) => (c.process.user = { uid: 0, gid: 0, additionalGids: [5, 4294967295] })),
      'process.user.additionalGids[1]',
      range,
    );
    assert.deepEqual(
      issuesAfter(
        (c) => (c.process.user = { uid: 2147483647, gid: 2147483647, additionalGids: [2147483647] }),
      ),
      [],
    );
  });

  test('id mappings whose range passes 4294967295 are refused', () => {
    const userNs = (c: Json) => {
      c.linux.namespaces.push({ type: 'user' });
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    };
    assertIssue(
      issuesAfter((c) => {
        userNs(c);
        c.linux.uidMappings = [{ containerID: 0, hostID: 4294967295, size: 1 }];
      }),
      'linux.uidMappings[0].hostID',
      /must not exceed 4294967295/,
    );
    assertIssue(
      issuesAfter((c) => {
        userNs(c);
        c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 4294967295 }];
      }),
      'linux.uidMappings[0].hostID',
    );
    assert.deepEqual(
      issuesAfter((c) => {
        userNs(c);
        c.linux.uidMappings = [{ containerID: 0, hostID: 2147483648, size: 65536 }];
      }),
      [],
    );
  });

  test('a NUL byte in cwd, too many additionalGids, effective caps not permitted', () => {
    assertIssue(
      issuesAfter((c) => (c.process.cwd = '/tmp\0x')),
      'process.cwd',
      'must not contain a NUL byte',
    );
    const many = issuesAfter(
      (c) => (c.process.user.additionalGids = Array.from({ length: 70000 }, (_, i) => i)),
    );
    assert.equal(many.length, 1, 'one issue for the whole list');
    assertIssue(many, 'process.user.additionalGids', /at most 65536 entries.*NGROUPS_MAX.*70000/);
    assert.ok(many[0]);
    assert.ok(many[0].message.length < 200);
    assert.deepEqual(
      issuesAfter((c) => (c.process.user.additionalGids = Array.from({ length: 65536 }, (_, i) => i))),
      [],
    );
    assertIssue(
      issuesAfter((c) => (c.process.capabilities = { effective: ['CAP_CHOWN', 'CAP_KILL'], permitted: [] })),
      'process.capabilities.permitted',
      /must include every capability of capabilities.effective \(missing CAP_CHOWN, CAP_KILL\)/,
    );
  });

  test('one problem: the message is one line naming the field', () => {
    const config = minimal();
    config.process.user.uid = 4294967295;
    assert.throws(() => parseConfigText(JSON.stringify(config), 'config.json'), {
      message:
        'invalid config.json: process.user.uid: uids and gids must be in range 0-2147483647 (got 4294967295)',
    });
  });
});

describe('on real containers: refused at create, nothing left (issue 21)', () => {
  const { root, bundle } = containerSuite(after);
  const refused = (patch: (c: Json) => void, firstLine: RegExp) => {
    const r = runts(['--root', root, 'run', '--bundle', bundle('id', patch), 'refused']);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines[0] ?? '', firstLine);
    assert.ok(r.stderr.length < 1000, `a short error (${r.stderr.length} bytes)`);
    assert.equal(r.stdout, '', 'the container never ran');
    assert.ok(!existsSync(join(root, 'refused')), 'no state left');
  };

  const refusedAtStart = (dir: string, message: RegExp) => {
    const r = runts(['--root', root, 'run', '--bundle', dir, 'refused']);
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, message);
    assert.ok(!existsSync(join(root, 'refused')), 'no state left');
  };

  test('uid 4294967295 (setresuid -1) never runs the container as root', () => {
    refused(
      (c) => (c.process.user = { uid: 4294967295, gid: 4294967295 }),
      /^runts: invalid config.json: 2 problems; first: process.user.uid: uids and gids must be in range 0-2147483647 \(got 4294967295\)$/,
    );
    refused(
      (c) => (c.process.user = { uid: 0, gid: 0, additionalGids: [4294967295] }),
      /process.user.additionalGids\[0\]: uids and gids must be in range/,
    );
    const r = runts([
      '--root',
      root,
      'run',
      '--bundle',
      bundle(
        'id -u; id -g; id -G',
        (c) => (c.process.user = { uid: 2147483647, gid: 2147483647, additionalGids: [2147483647] }),
      ),
      'top-id',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '2147483647\n2147483647\n2147483647\n');
  });

  test('exec --user and process.json with ids beyond 2147483647 are refused', (t) => {
    const id = 'exec-ids';
    // The detached container keeps its stdio: give it none, or spawnSync waits for it.
    const started = spawnSync(RUNTS, ['--root', root, 'run', '-d', '--bundle', bundle('sleep 60'), id], {
      stdio: 'ignore',
      timeout: 30_000,
    });
    assert.equal(started.status, 0);
    t.after(() => runts(['--root', root, 'delete', '--force', id]));
    for (const user of ['4294967295', '0:4294967295', '2147483648:0']) {
      const r = runts(['--root', root, 'exec', '--user', user, id, 'id']);
      assert.equal(r.status, 255, `--user ${user}: ${r.stdout}`); // runc exec fails with 255 too
      assert.match(r.stderr, /^runts: .*uids and gids must be in range 0-2147483647\n$/);
    }
    const g = runts(['--root', root, 'exec', '--additional-gids', '4294967295', id, 'id']);
    assert.equal(g.status, 255, g.stdout);
    assert.match(g.stderr, /user.additionalGids\[0\]: uids and gids must be in range 0-2147483647/);
    const file = join(root, '..', 'process.json');
    writeFileSync(file, JSON.stringify({ cwd: '/', args: ['id'], user: { uid: 4294967295, gid: 0 } }));
    const p = runts(['--root', root, 'exec', '--process', file, id]);
    assert.equal(p.status, 255, p.stdout);
    assert.match(
      p.stderr,
      /^runts: exec failed: invalid process: user.uid: uids and gids must be in range 0-2147483647 \(got 4294967295\)\n$/,
    );
    const ok = runts(['--root', root, 'exec', '--user', '2147483647:2147483647', id, 'id', '-u']);
    assert.equal(ok.stdout, '2147483647\n', ok.stderr);
  });

  test('RLIMIT_CORE 2^64-1 is RLIM_INFINITY inside; RLIMIT_NOFILE 2^64-1 fails as under runc (no CAP_SYS_RESOURCE)', () => {
    const unlimited = '18446744073709551615';
    // JSON.stringify cannot write 2^64-1 exactly: write 0 and replace the literal in the file.
    const make = (type: string, script: string) => {
      const dir = bundle(script, (c) => (c.process.rlimits = [{ type, hard: 0, soft: 0 }]));
      const file = join(dir, 'config.json');
      const cfg = JSON.stringify(JSON.parse(readFileSync(file, 'utf8')));
      assert.ok(cfg.includes('"hard":0,"soft":0'));
      writeFileSync(file, cfg.replace('"hard":0,"soft":0', `"hard":${unlimited},"soft":${unlimited}`));
      return dir;
    };
    const core = runts([
      '--root',
      root,
      'run',
      '--bundle',
      make('RLIMIT_CORE', 'grep "core file" /proc/self/limits; ulimit -c'),
      'core',
    ]);
    assert.equal(core.status, 0, core.stderr);
    assert.match(core.stdout, /^Max core file size\s+unlimited\s+unlimited\s+bytes\s*\nunlimited\n$/);
    // The exact value also survives the state file and the exec bootstrap.
    const started = spawnSync(
      RUNTS,
      ['--root', root, 'run', '-d', '--bundle', make('RLIMIT_CORE', 'sleep 60'), 'core-exec'],
      { stdio: 'ignore', timeout: 30_000 },
    );
    assert.equal(started.status, 0);
    try {
      const e = runts(['--root', root, 'exec', 'core-exec', 'sh', '-c', 'ulimit -c']);
      assert.equal(e.stdout, 'unlimited\n', e.stderr);
    } finally {
      runts(['--root', root, 'delete', '--force', 'core-exec']);
    }
    // Root here cannot raise NOFILE past its own hard limit: runc fails with EPERM as well.
    refusedAtStart(
      make('RLIMIT_NOFILE', 'true'),
      /RLIMIT_NOFILE 18446744073709551615:18446744073709551615: EPERM/,
    );
  });

  test('10 MB of annotations: the container runs, in time linear in the config (issue 21.6)', () => {
    const dir = bundle('echo ran', (c) => {
      c.annotations = {};
      for (let i = 0; i < 10000; i++) c.annotations[`k.${i}`] = 'v'.repeat(1000);
    });
    const t0 = performance.now();
    const r = runts(['--root', root, 'run', '--bundle', dir, 'big-config'], { timeout: 60_000 });
    const ms = performance.now() - t0;
    assert.equal(r.stdout, 'ran\n', r.stderr);
    // Before: about 25 s (the sync channel rescanned its buffer on every read); now ~3 s here.
    assert.ok(ms < 15_000, `run took ${Math.round(ms)} ms`);
  });

  test('a NUL in cwd, 70000 additionalGids, effective caps that are not permitted fail at create', () => {
    refused(
      (c) => (c.process.cwd = '/tmp\0x'),
      /^runts: invalid config.json: process.cwd: must not contain a NUL byte$/,
    );
    refused(
      (c) => (c.process.user.additionalGids = Array.from({ length: 70000 }, (_, i) => i)),
      /^runts: invalid config.json: process.user.additionalGids: must have at most 65536 entries/,
    );
    refused(
      (c) => (c.process.capabilities.permitted = []),
      /^runts: invalid config.json: process.capabilities.permitted: must include every capability of capabilities.effective \(missing CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE\)$/,
    );
  });
});

describe('exact 64-bit integers, nesting and clear texts (issue 21)', () => {
  const text = (mutate: (c: Json) => void, edit: (t: string) => string = (t) => t) => {
    const c = minimal();
    mutate(c);
    return edit(JSON.stringify(c));
  };

  test('integers beyond 2^53 keep their exact value; beyond 2^64-1 they are refused', () => {
    const spec = parseConfigText(
      text(
        (c) => {
          c.process.rlimits = [{ type: 'RLIMIT_CORE', hard: 0, soft: 0 }];
          c.linux.resources = { memory: { limit: 0 } };
        },
        (t) =>
          t
            .replace('"hard":0,"soft":0', '"hard":18446744073709551615,"soft":18446744073709551614')
            .replace('"limit":0', '"limit":9223372036854775807'),
      ),
      'config.json',
    ) as Json;
    assert.equal(spec.process.rlimits[0].hard, 18446744073709551615n);
    assert.equal(spec.process.rlimits[0].soft, 18446744073709551614n);
    assert.equal(spec.linux.resources.memory.limit, 9223372036854775807n);
    assert.throws(
      () =>
        parseConfigText(
          text(
            (c) => (c.process.rlimits = [{ type: 'RLIMIT_CORE', hard: 0, soft: 0 }]),
            (t) => t.replace('"hard":0', '"hard":18446744073709551616'),
          ),
          'config.json',
        ),
      {
        message: 'invalid config.json: process.rlimits[0].hard: must be at most 18446744073709551615',
      },
    );
    // int64 fields: one past 2^63-1 is refused even though a double cannot tell them apart.
    assert.throws(
      () =>
        parseConfigText(
          text(
            (c) => (c.linux.resources = { memory: { limit: 0 } }),
            (t) => t.replace('"limit":0', '"limit":9223372036854775808'),
          ),
          'config.json',
        ),
      {
        message: 'invalid config.json: linux.resources.memory.limit: must be at most 9223372036854775807',
      },
    );
  });

  test('the exact value survives the sync channel and the state file (stringifyJson/parseJson)', async () => {
    const { parseJson, stringifyJson } = await import('../../src/json.js');
    const doc = { a: 18446744073709551615n, b: [-9223372036854775808n, 1, 'x'], s: '18446744073709551615' };
    const back = parseJson(stringifyJson(doc)).value;
    assert.deepEqual(back, doc);
  });

  test('1e400, a NUL in cgroupsPath, deep nesting: messages name the field', () => {
    assert.throws(
      () =>
        parseConfigText(
          text(
            () => {},
            (t) => t.replace('"uid":0', '"uid":1e400'),
          ),
          'config.json',
        ),
      {
        message: 'invalid config.json: process.user.uid: must be an integer (got 1e400)',
      },
    );
    assert.throws(
      () =>
        parseConfigText(
          text((c) => (c.linux.cgroupsPath = '/a\0b')),
          'config.json',
        ),
      {
        message: 'invalid config.json: linux.cgroupsPath: must not contain a NUL byte',
      },
    );
    const deep = text(
      () => {},
      (t) => `${t.slice(0, -1)},"x":${'['.repeat(100000)}${']'.repeat(100000)}}`,
    );
    assert.throws(() => parseConfigText(deep, 'config.json'), {
      message: 'config.json: invalid JSON: nested more than 1000 levels deep',
    });
    // Extension fields nested as deep as that are fine.
    const ok = text(
      () => {},
      (t) => `${t.slice(0, -1)},"x":${'['.repeat(999)}${']'.repeat(999)}}`,
    );
    assert.ok(parseConfigText(ok, 'config.json'));
  });

  test('many problems: every one listed, the first line a summary', () => {
    const t = text(
      (c) => (c.process.user = { uid: 4294967295, gid: 4294967295, additionalGids: [4294967295] }),
    );
    assert.throws(
      () => parseConfigText(t, 'config.json'),
      (err: Error) => {
        const lines = err.message.split('\n');
        assert.equal(
          lines[0],
          'invalid config.json: 3 problems; first: process.user.uid: uids and gids must be in range 0-2147483647 (got 4294967295)',
        );
        assert.deepEqual(
          lines.slice(1).map((l) => l.split(':')[0]?.trim()),
          ['process.user.uid', 'process.user.gid', 'process.user.additionalGids[0]'],
        );
        return true;
      },
    );
  });
});

describe("Go's null: read as absent, as runc reads it (issue 13)", () => {
  // Every optional member the schema knows, for each object of the config, set to null.
  const schemas = new Map<string, Json>(
    ['config.schema.json', 'config-linux.schema.json', 'defs.schema.json'].map((f) => [
      f,
      JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'schemas', f), 'utf8')),
    ]),
  );
  const resolve = (node: Json, file: string): [Json, string] => {
    while (node?.$ref) {
      const [f, ptr = ''] = String(node.$ref).split('#');
      file = f || file;
      node = ptr
        .split('/')
        .filter(Boolean)
        .reduce((n: Json, k: string) => n?.[k], schemas.get(file));
    }
    return [node, file];
  };
  // Fields runts (and runc) need on Linux though the schema makes them optional.
  const NEEDED = new Set([
    'root',
    'process',
    'linux',
    'process.args',
    'process.cwd',
    'linux.namespaces',
    'process.user',
  ]);
  const nullEveryOptional = (value: Json, schemaNode: Json, file: string, at: string): number => {
    const [node, f] = resolve(schemaNode, file);
    let n = 0;
    if (Array.isArray(value)) {
      if (node?.items) for (const v of value) n += nullEveryOptional(v, node.items, f, at);
      return n;
    }
    if (value === null || typeof value !== 'object' || !node?.properties) return n;
    const required = new Set<string>(node.required ?? []);
    for (const [k, sub] of Object.entries(node.properties)) {
      const path = at ? `${at}.${k}` : k;
      if (k in value) n += nullEveryOptional(value[k], sub, f, path);
      else if (!required.has(k) && !NEEDED.has(path)) {
        value[k] = null;
        n++;
      }
    }
    return n;
  };

  test('a config with every optional member null loads, and nothing downstream sees a null', () => {
    const c = minimal();
    c.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }];
    c.process.capabilities = { bounding: ['CAP_KILL'] };
    c.linux.resources = { memory: {} };
    const count = nullEveryOptional(c, { $ref: 'config.schema.json' }, 'config.schema.json', '');
    assert.ok(count > 40, `nulled ${count} members`);
    const spec = parseConfigText(JSON.stringify(c), 'config.json');
    assert.ok(!JSON.stringify(spec).includes('null'), JSON.stringify(spec));
  });

  test('null for a required member is still an error; null inside string maps too', () => {
    assertIssueText(() => {
      const c = minimal();
      c.process.args = null;
      return c;
    }, 'process.args: is required');
    assertIssueText(() => {
      const c = minimal();
      c.root.path = null;
      return c;
    }, 'root.path: is required');
    assertIssueText(() => {
      const c = minimal();
      c.annotations = { a: null };
      return c;
    }, 'annotations.a: must be a string (got null)');
  });

  describe('on real containers', () => {
    const { root, bundle } = containerSuite(after);

    test('a runts spec config with every optional member null runs', () => {
      let count = 0;
      const dir = bundle(
        'echo ran; id -u',
        (c) => (count = nullEveryOptional(c, { $ref: 'config.schema.json' }, 'config.schema.json', '')),
      );
      assert.ok(count > 30, `nulled ${count} members`);
      const r = runts(['--root', root, 'run', '--bundle', dir, 'all-null']);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'ran\n0\n');
      assert.equal(r.status, 0);
    });

    test('podman\'s seccomp profile ("args": null) applies', (t) => {
      const profile = '/usr/share/containers/seccomp.json';
      if (!existsSync(profile)) {
        t.skip(`${profile} missing (golang-github-containers-common)`);
        return;
      }
      const text = readFileSync(profile, 'utf8');
      assert.match(text, /"args": null/);
      const dir = bundle(
        'grep -E "^Seccomp(_filters)?:" /proc/self/status',
        (c) => (c.linux.seccomp = JSON.parse(text)),
      );
      const r = runts(['--root', root, 'run', '--bundle', dir, 'podman-seccomp']);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^Seccomp:\s+2\nSeccomp_filters:\s+1\n$/);
      assert.equal(r.status, 0);
    });
  });

  function assertIssueText(make: () => Json, expected: string): void {
    assert.throws(
      () => parseConfigText(JSON.stringify(make()), 'config.json'),
      (err: Error) => {
        assert.ok(
          err.message.split('\n').some((l) => l.trim() === expected || l.endsWith(`: ${expected}`)),
          err.message,
        );
        return true;
      },
    );
  }
});
