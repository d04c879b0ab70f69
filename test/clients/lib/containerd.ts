/**
 * A private containerd (Debian's 1.6): config, root, state and sockets under
 * a temp dir, the CRI plugin disabled (or configured by the caller's `cri`
 * TOML, see lib/cri.ts), a PATH whose `runc` is the runtime
 * under test (ctr 1.6 drops --runc-binary with --uidmap or --no-pivot and the
 * shim then runs the `runc` in its PATH).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { run, stopPids, pidsWithCmdline, unmountUnder, waitFor, alive, type Runtime } from './common.js';

export interface Containerd {
  dir: string;
  sock: string;
  pid: number;
  log: string;
  stop(): Promise<string[]>;
}

export interface ContainerdOpts {
  /** TOML for the CRI plugin (tables under [plugins."io.containerd.grpc.v1.cri"]): enables it. */
  cri?: string;
}

export async function startContainerd(
  dir: string,
  rt: Runtime,
  opts: ContainerdOpts = {},
): Promise<Containerd> {
  fs.mkdirSync(dir, { recursive: true });
  // containerd 1.6 puts shim sockets in /run/containerd/s whatever its config
  // says: remember whether that directory is ours to remove.
  const runDirWasThere = fs.existsSync('/run/containerd');
  const sock = path.join(dir, 'containerd.sock');
  const config = path.join(dir, 'config.toml');
  fs.writeFileSync(
    config,
    `version = 2
root = "${dir}/root"
state = "${dir}/state"
${opts.cri === undefined ? 'disabled_plugins = ["io.containerd.grpc.v1.cri"]' : ''}

[grpc]
  address = "${sock}"

[ttrpc]
  address = "${sock}.ttrpc"

[debug]
  address = "${dir}/debug.sock"
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
${opts.cri ?? ''}`,
  );
  const log = path.join(dir, 'containerd.log');
  const fd = fs.openSync(log, 'a');
  const child = spawn('containerd', ['--config', config], {
    stdio: ['ignore', fd, fd],
    detached: true,
    env: { PATH: `${rt.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: dir },
  });
  fs.closeSync(fd);
  child.unref();
  const pid = child.pid!;
  try {
    await waitFor(
      () => {
        if (!alive(pid)) throw new Error(`containerd exited:\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
        return run('ctr', ['--address', sock, 'version'], { timeout: 5000 }).status === 0;
      },
      30_000,
      'containerd to answer',
    );
  } catch (e) {
    await stopPids([pid]);
    throw e;
  }

  const stop = async (): Promise<string[]> => {
    const problems: string[] = [];
    // Whatever tasks are left in any namespace: kill and delete them.
    const nss = run('ctr', ['--address', sock, 'namespaces', 'list', '-q'])
      .stdout.split('\n')
      .filter(Boolean);
    for (const ns of nss) {
      const c = ['--address', sock, '-n', ns];
      const tasks = run('ctr', [...c, 'tasks', 'list', '-q'])
        .stdout.split('\n')
        .filter(Boolean);
      for (const t of tasks) {
        problems.push(`task ${ns}/${t} left running`);
        run('ctr', [...c, 'tasks', 'kill', '-a', '-s', 'SIGKILL', t]);
      }
      for (const t of tasks) run('ctr', [...c, 'tasks', 'delete', '-f', t], { timeout: 20_000 });
      const ctrs = run('ctr', [...c, 'containers', 'list', '-q'])
        .stdout.split('\n')
        .filter(Boolean);
      for (const id of ctrs) run('ctr', [...c, 'containers', 'delete', id]);
    }
    await stopPids([pid]);
    // Shims outlive containerd; ours name our socket on their command line.
    const shims = pidsWithCmdline(sock);
    if (shims.length) problems.push(`shims left: ${shims.join(',')}`);
    await stopPids(shims);
    unmountUnder(dir);
    if (!runDirWasThere) removeEmptyDirs('/run/containerd');
    return problems;
  };
  return { dir, sock, pid, log, stop };
}

/** rmdir `dir` and the empty directories under it, bottom-up; files stay. */
export function removeEmptyDirs(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  for (const e of fs.readdirSync(dir)) removeEmptyDirs(path.join(dir, e));
  try {
    fs.rmdirSync(dir);
  } catch {}
}
