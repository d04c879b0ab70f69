// securejoin: paths inside a rootfs resolve inside it, whatever symlinks the image holds.
// A temporary tree of hostile symlinks (absolute to /, ../../.., loops, links to host
// paths), resolved with openat2(RESOLVE_IN_ROOT) and with the component walk used on
// kernels without it. Needs no root. Run: node --import tsx --test test/unit/securejoin.test.ts

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { pretendNoOpenat2 } from '../../src/linux/at-calls.js';
import { Root, RootPathError, cleanPath } from '../../src/init/securejoin.js';

let base: string;
let rootPath: string;
let outside: string;
let root: Root;

/** Every name under `dir` (symlinks not followed), for "nothing outside changed". */
function listing(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    out.push(r);
    if (e.isDirectory()) out.push(...listing(dir, r));
  }
  return out.sort();
}

function hostPathOf(fd: number): string {
  return fs.readlinkSync(`/proc/self/fd/${fd}`);
}

function assertInside(fd: number, what: string): void {
  try {
    const p = hostPathOf(fd);
    assert.ok(
      p === rootPath || p.startsWith(rootPath + '/'),
      `${what} resolved to ${p}, outside ${rootPath}`,
    );
  } finally {
    fs.closeSync(fd);
  }
}

before(() => {
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'runts-securejoin-')));
  rootPath = path.join(base, 'rootfs');
  outside = path.join(base, 'host');
  fs.mkdirSync(path.join(outside, 'secret-dir'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'secret'), 'host file');
  fs.mkdirSync(path.join(rootPath, 'dir/sub'), { recursive: true });
  fs.writeFileSync(path.join(rootPath, 'file'), 'inside');
  const links: Array<[string, string]> = [
    ['etc', '/'],
    ['up', '../../..'],
    ['dir/sub/deep-up', '../../../../../..'],
    ['host-abs', outside],
    ['host-rel', '../host'],
    ['host-secret', path.join(outside, 'secret')],
    ['loop-a', 'loop-b'],
    ['loop-b', 'loop-a'],
    ['self', '.'],
    ['proc-root', '/proc/self/root'],
    ['dangling', '/made-by-link/x'],
    ['dangling-up', '../../../escaped-file'],
  ];
  for (const [link, target] of links) fs.symlinkSync(target, path.join(rootPath, link));
  root = Root.open(rootPath);
});

after(() => {
  root.close();
  pretendNoOpenat2(false);
  fs.rmSync(base, { recursive: true, force: true });
});

test('cleanPath is lexical and rooted', () => {
  assert.equal(cleanPath('a/../../b/'), '/b');
  assert.equal(cleanPath(''), '/');
  assert.equal(cleanPath('//x/./y'), '/x/y');
});

for (const mode of ['openat2', 'component walk'] as const) {
  describe(`lookups (${mode})`, () => {
    before(() => pretendNoOpenat2(mode === 'component walk'));
    after(() => pretendNoOpenat2(false));

    test('an absolute symlink to / is the root of the container', () => {
      const fd = root.open('/etc');
      assert.ok(root.isRoot(fd));
      assertInside(fd, '/etc');
      assertInside(root.open('/etc/file'), '/etc/file');
      assert.equal(
        fs.readFileSync(`/proc/self/fd/${root.open('/etc/etc/etc/file', fs.constants.O_RDONLY)}`, 'utf8'),
        'inside',
      );
    });

    test('../../.. stops at the root', () => {
      for (const p of [
        '/up',
        '/up/file',
        '/dir/sub/deep-up',
        '/dir/sub/deep-up/dir',
        '/../../..',
        '/up/up/up/dir/sub',
      ]) {
        assertInside(root.open(p), p);
      }
      assert.ok(root.isRoot(root.open('/up')));
    });

    test('a link to a host path names the path inside the root, where it does not exist', () => {
      for (const p of ['/host-abs', '/host-abs/secret', '/host-rel/secret', '/host-secret']) {
        assert.equal(root.tryOpen(p), undefined, p);
        assert.throws(
          () => root.open(p),
          (e: Error) => e instanceof RootPathError && e.code === 'ENOENT',
          p,
        );
      }
    });

    test('loops end in ELOOP', () => {
      assert.throws(
        () => root.open('/loop-a'),
        (e: Error) => e instanceof RootPathError && e.code === 'ELOOP',
      );
      assert.throws(
        () => root.open('/loop-b/x'),
        (e: Error) => e instanceof RootPathError && e.code === 'ELOOP',
      );
    });

    test('magic links (/proc/self/root) are not followed out of the root', () => {
      // Inside the rootfs there is no /proc: the link leads nowhere.
      assert.equal(root.tryOpen('/proc-root'), undefined);
    });

    test('a file is not a directory', () => {
      assert.throws(
        () => root.open('/file/x'),
        (e: Error) => e instanceof RootPathError && e.code === 'ENOTDIR',
      );
    });

    test('noFollow opens the link itself', () => {
      const fd = root.open('/etc', undefined, true);
      try {
        assert.ok(fs.fstatSync(fd).isSymbolicLink());
      } finally {
        fs.closeSync(fd);
      }
    });
  });
}

describe('creation stays inside', () => {
  test('mkdirAll through links to the host makes directories inside the root', () => {
    const before = listing(outside);
    for (const p of ['/host-abs/newdir', '/host-rel/newdir2', '/up/up/made', '/etc/etc/made2'])
      assertInside(root.mkdirAll(p), p);
    assert.ok(fs.statSync(path.join(rootPath, outside, 'newdir')).isDirectory());
    assert.ok(fs.statSync(path.join(rootPath, 'host/newdir2')).isDirectory());
    assert.ok(fs.statSync(path.join(rootPath, 'made')).isDirectory());
    assert.deepEqual(listing(outside), before);
  });

  test('a file made through a dangling link lands where the link points, inside the root', () => {
    const a = root.openOrCreate('/dangling', true);
    assert.equal(a.created, true);
    assertInside(a.fd, '/dangling');
    assert.ok(fs.statSync(path.join(rootPath, 'made-by-link/x')).isFile());
    assertInside(root.createTarget('/dangling-up', true), '/dangling-up');
    assert.ok(fs.statSync(path.join(rootPath, 'escaped-file')).isFile());
    assert.equal(fs.existsSync(path.join(base, '..', 'escaped-file')), false);
  });

  test('an existing target is opened, not made', () => {
    const r = root.openOrCreate('/file', true);
    assert.equal(r.created, false);
    assertInside(r.fd, '/file');
  });

  test('symlink and unlink act on the name inside the root', () => {
    root.symlink('/', '/dir/new-link');
    assert.equal(fs.readlinkSync(path.join(rootPath, 'dir/new-link')), '/');
    root.unlink('/host-secret');
    assert.equal(fs.existsSync(path.join(rootPath, 'host-secret')), false);
    assert.ok(fs.existsSync(path.join(outside, 'secret')));
    root.unlink('/no/such/file');
  });

  test('the root itself has no parent to make', () => {
    assert.throws(() => root.mkdirAllParent('/..'), RootPathError);
  });
});

describe('property: no path escapes', () => {
  const component = fc.constantFrom(
    '..',
    '.',
    'etc',
    'up',
    'dir',
    'sub',
    'deep-up',
    'host-abs',
    'host-rel',
    'self',
    'loop-a',
    'file',
    'new',
  );
  const unsafePath = fc.array(component, { minLength: 1, maxLength: 8 }).map((c) => c.join('/'));

  for (const mode of ['openat2', 'component walk'] as const) {
    test(`open resolves inside or fails cleanly (${mode})`, () => {
      pretendNoOpenat2(mode === 'component walk');
      try {
        fc.assert(
          fc.property(unsafePath, fc.boolean(), (p, noFollow) => {
            let fd: number;
            try {
              fd = root.open(p, undefined, noFollow);
            } catch (e) {
              assert.ok(e instanceof RootPathError, `${p}: ${String(e)}`);
              assert.ok(['ENOENT', 'ELOOP', 'ENOTDIR'].includes(e.code ?? ''), `${p}: ${e.message}`);
              return;
            }
            assertInside(fd, p);
          }),
          { numRuns: 300 },
        );
      } finally {
        pretendNoOpenat2(false);
      }
    });
  }

  test('mkdirAll never makes anything outside the root', () => {
    // (The tmp dir around `base` is shared with other processes: `base` is the fence.)
    const outsideRoot = () => [...listing(outside), ...fs.readdirSync(base)];
    const before = outsideRoot();
    fc.assert(
      fc.property(unsafePath, (p) => {
        try {
          assertInside(root.mkdirAll(p), p);
        } catch (e) {
          assert.ok(e instanceof RootPathError, `${p}: ${String(e)}`);
        }
      }),
      { numRuns: 200 },
    );
    assert.deepEqual(outsideRoot(), before);
  });
});

test('lookups leak no fd, whether they succeed or fail', () => {
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  for (const mode of [true, false]) {
    pretendNoOpenat2(mode);
    try {
      const before = fds();
      for (const p of ['/up/dir/sub', '/loop-a', '/file/x', '/host-abs/secret', '/etc/etc/made-again/x']) {
        try {
          fs.closeSync(p.includes('made-again') ? root.mkdirAll(p) : root.open(p));
        } catch {}
      }
      assert.equal(fds(), before);
    } finally {
      pretendNoOpenat2(false);
    }
  }
});
