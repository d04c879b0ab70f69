/**
 * Docker engine 20.10 runs its containers on the runtime under test
 * (`--add-runtime runts=<path>`, `docker run --runtime runts`), through the
 * test's own dockerd and containerd. CLIENT_RUNTIME=/usr/sbin/runc runs the
 * same scenarios on runc.
 */
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  makeTempDir,
  pidsWithCmdline,
  removeCgroupTree,
  run,
  setupRuntime,
  show,
  stopPids,
  unmountUnder,
  type RunOpts,
} from './lib/common.js';
import { buildImages, IMAGE_NAME } from './lib/image.js';
import { startContainerd, type Containerd } from './lib/containerd.js';
import { startDockerd, type Dockerd } from './lib/docker.js';
import { dockerLikeScenarios } from './lib/dockerlike.js';
import { scenario, clientAvailable } from './lib/scenario.js';

const HAVE = clientAvailable(['dockerd', '/usr/bin/docker', 'containerd', 'ip']);
const base = makeTempDir('rtc-docker-');
const rt = setupRuntime(base);
let cd: Containerd | undefined;
let dk: Dockerd | undefined;
const argv: string[] = [];
const env: NodeJS.ProcessEnv = {};
const docker = (args: string[], opts: RunOpts = {}) =>
  run(argv[0] ?? assert.fail('docker is not set up'), [...argv.slice(1), ...args], {
    env,
    cwd: base,
    ...opts,
  });

describe(
  `docker on ${rt.kind}`,
  { skip: HAVE ? false : 'docker.io not installed (apt-get install docker.io containerd iproute2)' },
  () => {
    before(async () => {
      const images = buildImages(path.join(base, 'image'));
      cd = await startContainerd(path.join(base, 'containerd'), rt);
      dk = await startDockerd(path.join(base, 'd'), rt, cd.sock);
      argv.push(...dk.argv);
      Object.assign(env, dk.env);
      const r = docker(['load', '-i', images.docker], { timeout: 120_000 });
      assert.equal(r.status, 0, show(r));
      assert.match(docker(['images']).stdout, /runts-busybox/);
    });

    after(async () => {
      const problems: string[] = [];
      if (dk) problems.push(...(await dk.stop()));
      if (cd) problems.push(...(await cd.stop()));
      await stopPids(pidsWithCmdline(base));
      if (dk)
        problems.push(
          ...(await removeCgroupTree(dk.cgroupParent)).map((s) => `cgroup still populated: ${s}`),
        );
      unmountUnder(base);
      fs.rmSync(base, { recursive: true, force: true });
      assert.deepEqual(problems, [], 'the suite left things behind');
    });

    dockerLikeScenarios({
      name: 'docker',
      rt,
      base,
      get argv() {
        return argv;
      },
      get env() {
        return env;
      },
      image: IMAGE_NAME,
      runFlags: ['--runtime', 'runts', '--network', 'none'],
      // Per-scenario { runtsTodo } for runts features in progress (none needed now).
      notes: {},
    });

    scenario(rt, 'default bridge network: the libnetwork prestart hook ran', () => {
      const r = docker([
        'run',
        '--rm',
        '--runtime',
        'runts',
        IMAGE_NAME,
        'sh',
        '-c',
        'ip -o -4 addr show dev eth0; cat /etc/hosts',
      ]);
      assert.equal(r.status, 0, show(r, rt));
      assert.match(r.stdout, /eth0\s+inet 192\.0\.2\.\d+\/24/, show(r, rt));
    });

    scenario(rt, 'host network (a namespace path for the runtime)', () => {
      const r = docker([
        'run',
        '--rm',
        '--runtime',
        'runts',
        '--network',
        'host',
        IMAGE_NAME,
        'readlink',
        '/proc/self/ns/net',
      ]);
      assert.equal(r.stdout.trim(), fs.readlinkSync('/proc/self/ns/net'), show(r, rt));
    });

    scenario(
      rt,
      'systemd cgroup driver',
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
