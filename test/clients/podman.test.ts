/**
 * podman 4.3 (with conmon and catatonit) runs its containers on the runtime
 * under test: `podman --runtime <runts>`, the test's own containers.conf and
 * storage. CLIENT_RUNTIME=/usr/sbin/runc runs the same scenarios on runc.
 */
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  TAG,
  makeTempDir,
  runAsync,
  pidsWithCmdline,
  removeCgroupTree,
  run,
  setupRuntime,
  show,
  stopPids,
  unmountUnder,
  cgroupDirs,
  type RunOpts,
} from './lib/common.js';
import { buildImages, IMAGE_NAME } from './lib/image.js';
import { setupPodman } from './lib/podman.js';
import { dockerLikeScenarios } from './lib/dockerlike.js';
import { scenario, clientAvailable } from './lib/scenario.js';

const HAVE = clientAvailable(['podman', 'conmon']);
const base = makeTempDir('rtc-podman-');
const rt = setupRuntime(base);
const pm = setupPodman(path.join(base, 'p'), rt);
// cwd: conmon writes an `oom` file into its working directory
const podman = (args: string[], opts: RunOpts = {}) =>
  run(pm.argv[0], [...pm.argv.slice(1), ...args], { env: pm.env, cwd: base, ...opts });
const hadLibpodParent = cgroupDirs('/libpod_parent').length > 0;
const sh = (script: string) => ['sh', '-c', script];

describe(
  `podman on ${rt.kind}`,
  { skip: HAVE ? false : 'podman not installed (apt-get install podman conmon catatonit)' },
  () => {
    before(() => {
      const images = buildImages(path.join(base, 'image'));
      const r = podman(['load', '-i', images.oci], { timeout: 120_000 });
      assert.equal(r.status, 0, show(r));
      assert.equal(
        podman(['tag', r.stdout.match(/Loaded image(?:\(s\))?: (\S+)/)?.[1] ?? IMAGE_NAME, IMAGE_NAME])
          .status,
        0,
      );
    });

    after(async () => {
      const problems: string[] = [];
      const left = podman(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (left.length) {
        problems.push(`containers left: ${left.join(',')}`);
        podman(['rm', '-f', '-t', '0', ...left], { timeout: 60_000 });
      }
      podman(['pod', 'rm', '-af']);
      // conmon processes and anything else started with our paths.
      await stopPids(pidsWithCmdline(base));
      problems.push(...(await removeCgroupTree(pm.cgroupParent)).map((s) => `cgroup still populated: ${s}`));
      if (!hadLibpodParent && cgroupDirs('/libpod_parent').length)
        problems.push('podman created /libpod_parent');
      unmountUnder(base);
      fs.rmSync(base, { recursive: true, force: true });
      assert.deepEqual(problems, [], 'the suite left things behind');
    });

    dockerLikeScenarios({
      name: 'podman',
      rt,
      base,
      argv: pm.argv,
      env: pm.env,
      image: IMAGE_NAME,
      runFlags: ['--cgroup-parent', pm.cgroupParent],
      // Per-scenario { runtsTodo } for runts features in progress (none needed now).
      notes: {},
    });

    scenario(rt, 'preserve-fds', async () => {
      const file = path.join(base, 'preserved');
      fs.writeFileSync(file, 'through fd 3\n');
      const fd = fs.openSync(file, 'r');
      try {
        const p = runAsync(
          pm.argv[0],
          [
            ...pm.argv.slice(1),
            'run',
            '--rm',
            '--preserve-fds',
            '1',
            '--cgroup-parent',
            pm.cgroupParent,
            IMAGE_NAME,
            'sh',
            '-c',
            'cat <&3; ls /proc/self/fd | tr "\\n" " "',
          ],
          { env: pm.env, cwd: base, stdio: ['pipe', 'pipe', 'pipe', fd] },
        );
        const r = await p.done;
        assert.equal(r.status, 0, show(r, rt));
        assert.match(r.stdout, /^through fd 3\n/, show(r, rt));
      } finally {
        fs.closeSync(fd);
      }
    });

    scenario(rt, 'user namespace: --uidmap/--gidmap', () => {
      const r = podman(
        [
          'run',
          '--rm',
          '--cgroup-parent',
          pm.cgroupParent,
          '--uidmap',
          '0:300000:65536',
          '--gidmap',
          '0:300000:65536',
          IMAGE_NAME,
          'sh',
          '-c',
          'cat /proc/self/uid_map /proc/self/gid_map; id -u; ls -ln /bin/busybox; touch /tmp/x && echo ok',
        ],
        { timeout: 120_000 },
      );
      assert.equal(r.status, 0, show(r, rt));
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0] ?? '', /^\s*0\s+300000\s+65536$/);
      assert.match(lines[1] ?? '', /^\s*0\s+300000\s+65536$/);
      assert.equal(lines[2], '0');
      assert.match(r.stdout, / 0 +0 .*\/bin\/busybox\nok\n$/);
    });

    scenario(rt, "pod: containers share the infra container's namespaces", () => {
      const pod = `rts-pod-${TAG}`;
      const cr = podman(
        [
          'pod',
          'create',
          '--name',
          pod,
          '--cgroup-parent',
          pm.cgroupParent,
          '--share',
          'ipc,net,uts',
          '--hostname',
          'podhost',
        ],
        { timeout: 120_000 },
      );
      assert.equal(cr.status, 0, show(cr, rt));
      try {
        const a = podman(['run', '-d', '--pod', pod, '--name', `${pod}-a`, IMAGE_NAME, 'sleep', '1000']);
        assert.equal(a.status, 0, show(a, rt));
        const apid = Number(podman(['inspect', '-f', '{{.State.Pid}}', `${pod}-a`]).stdout.trim());
        const b = podman([
          'run',
          '--rm',
          '--pod',
          pod,
          IMAGE_NAME,
          ...sh('hostname; readlink /proc/self/ns/ipc; readlink /proc/self/ns/net'),
        ]);
        assert.equal(b.status, 0, show(b, rt));
        assert.equal(
          b.stdout,
          `podhost\n${fs.readlinkSync(`/proc/${apid}/ns/ipc`)}\n${fs.readlinkSync(`/proc/${apid}/ns/net`)}\n`,
        );
      } finally {
        podman(['pod', 'rm', '-f', '-t', '0', pod], { timeout: 60_000 });
      }
    });

    scenario(rt, 'tmpfs over a directory starts with its contents (tmpcopyup)', () => {
      const r = podman([
        'run',
        '--rm',
        '--cgroup-parent',
        pm.cgroupParent,
        '--tmpfs',
        '/etc/notexec:size=1m',
        IMAGE_NAME,
        'sh',
        '-c',
        'grep " /etc/notexec " /proc/mounts; ls -l /etc/notexec; cat /etc/notexec/script',
      ]);
      assert.equal(r.status, 0, show(r, rt));
      assert.match(r.stdout, /^tmpfs \/etc\/notexec tmpfs /, show(r, rt));
      assert.match(r.stdout, /-rw-r--r-- .* script\n#!\/bin\/sh\necho should not run\n$/, show(r, rt));
    });

    scenario(rt, 'host network', () => {
      const r = podman([
        'run',
        '--rm',
        '--network',
        'host',
        '--cgroup-parent',
        pm.cgroupParent,
        IMAGE_NAME,
        'readlink',
        '/proc/self/ns/net',
      ]);
      assert.equal(r.stdout.trim(), fs.readlinkSync('/proc/self/ns/net'), show(r, rt));
    });

    scenario(
      rt,
      'systemd cgroup manager',
      { skip: 'no systemd as PID 1 and no D-Bus on this machine kind' },
      () => {},
    );
    scenario(
      rt,
      'checkpoint/restore',
      { skip: "Debian's criu 3.17 fails `criu check` on this kernel" },
      () => {},
    );
  },
);
