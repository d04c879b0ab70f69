/**
 * Docker engine 20.10 started by the test: its own data-root, exec-root,
 * pidfile, socket and config file, the test's own containerd (given with
 * --containerd, so it never picks /run/containerd/containerd.sock), the
 * runtime under test added as "runts" and made the default, no iptables,
 * masquerading or ip_forward changes, and a bridge of the test's own.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TAG, alive, run, stopPids, unmountUnder, waitFor, type Runtime } from './common.js';

export interface Dockerd {
  argv: [string, ...string[]];
  env: NodeJS.ProcessEnv;
  pid: number;
  log: string;
  execRoot: string;
  cgroupParent: string;
  bridge: string;
  stop(): Promise<string[]>;
}

/** 192.0.2.0/24 (TEST-NET-1): an address for our own bridge, routed nowhere. */
const BRIDGE_CIDR = '192.0.2.1/24';

export async function startDockerd(dir: string, rt: Runtime, containerdSock: string): Promise<Dockerd> {
  fs.mkdirSync(dir, { recursive: true });
  const sock = path.join(dir, 'docker.sock');
  const execRoot = path.join(dir, 'exec');
  const configFile = path.join(dir, 'daemon.json');
  fs.writeFileSync(configFile, '{}\n');
  const bridge = `rts${TAG}`.slice(0, 15);
  const ip = (args: string[]) => run('ip', args);
  const r = ip(['link', 'add', bridge, 'type', 'bridge']);
  if (r.status !== 0) throw new Error(`ip link add ${bridge}: ${r.stderr}`);
  ip(['addr', 'add', BRIDGE_CIDR, 'dev', bridge]);
  ip(['link', 'set', bridge, 'up']);
  const cgroupParent = `/runts-clients-docker-${TAG}`;
  const log = path.join(dir, 'dockerd.log');
  const fd = fs.openSync(log, 'a');
  const args = [
    '--data-root',
    path.join(dir, 'data'),
    '--exec-root',
    execRoot,
    '--pidfile',
    path.join(dir, 'docker.pid'),
    '--host',
    `unix://${sock}`,
    '--config-file',
    configFile,
    '--containerd',
    containerdSock,
    '--containerd-namespace',
    `moby-${TAG}`,
    '--containerd-plugins-namespace',
    `plugins-${TAG}`,
    '--add-runtime',
    `runts=${rt.wrapper}`,
    '--default-runtime',
    'runts',
    '--iptables=false',
    '--ip-masq=false',
    '--ip-forward=false',
    '--ip6tables=false',
    '--userland-proxy=false',
    '--bridge',
    bridge,
    '--exec-opt',
    'native.cgroupdriver=cgroupfs',
    '--cgroup-parent',
    cgroupParent,
    '--storage-driver',
    'overlay2',
    '--log-level',
    'warn',
    '--experimental=false',
  ];
  const env = {
    PATH: `${rt.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: dir,
  };
  const child = spawn('dockerd', args, { stdio: ['ignore', fd, fd], detached: true, env });
  fs.closeSync(fd);
  child.unref();
  const pid = child.pid!;
  const cliEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_CONFIG: path.join(dir, 'cli'),
    DOCKER_HOST: `unix://${sock}`,
  };
  delete cliEnv.DOCKER_CONTEXT;
  const argv: [string, ...string[]] = ['/usr/bin/docker', '--host', `unix://${sock}`];
  const removeBridge = () => ip(['link', 'del', bridge]);
  try {
    await waitFor(
      () => {
        if (!alive(pid)) throw new Error(`dockerd exited:\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
        return run(argv[0], [...argv.slice(1), 'version'], { env: cliEnv, timeout: 5000 }).status === 0;
      },
      60_000,
      'dockerd to answer',
    );
  } catch (e) {
    await stopPids([pid]);
    removeBridge();
    throw e;
  }
  const stop = async (): Promise<string[]> => {
    const problems: string[] = [];
    const left = run(argv[0], [...argv.slice(1), 'ps', '-aq'], { env: cliEnv })
      .stdout.split('\n')
      .filter(Boolean);
    if (left.length) {
      problems.push(`containers left: ${left.join(',')}`);
      run(argv[0], [...argv.slice(1), 'rm', '-f', ...left], { env: cliEnv, timeout: 60_000 });
    }
    await stopPids([pid], 20_000);
    unmountUnder(dir);
    removeBridge();
    return problems;
  };
  return { argv, env: cliEnv, pid, log, execRoot, cgroupParent, bridge, stop };
}
