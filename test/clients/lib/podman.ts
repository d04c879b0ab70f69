/**
 * podman 4.3 with a configuration of the test's own: containers.conf
 * (cgroupfs, file events, lower default ulimits, runts in
 * runtime_supports_json), storage.conf, and --root/--runroot/--tmpdir in
 * the temp dir. No daemon: each command is a process; conmon stays per
 * container and is stopped by `podman rm`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TAG, type Runtime } from './common.js';

export interface Podman {
  argv: [string, ...string[]];
  env: NodeJS.ProcessEnv;
  cgroupParent: string;
}

export function setupPodman(dir: string, rt: Runtime): Podman {
  for (const d of ['root', 'runroot', 'tmp', 'cni', 'volumes'])
    fs.mkdirSync(path.join(dir, d), { recursive: true });
  const conf = path.join(dir, 'containers.conf');
  fs.writeFileSync(
    conf,
    `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
init_path = "/usr/bin/catatonit"
netns = "none"
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${dir}/events.log"
runtime = "runts"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "youki", "krun", "runts"]
tmp_dir = "${dir}/tmp"
volume_path = "${dir}/volumes"
lock_type = "file"
num_locks = 512
conmon_path = ["/usr/bin/conmon"]

[engine.runtimes]
runts = ["${rt.wrapper}"]

[network]
network_backend = "cni"
network_config_dir = "${dir}/cni"
`,
  );
  const storage = path.join(dir, 'storage.conf');
  fs.writeFileSync(
    storage,
    `[storage]
driver = "overlay"
runroot = "${dir}/runroot"
graphroot = "${dir}/root"
`,
  );
  const env = {
    ...process.env,
    CONTAINERS_CONF: conf,
    CONTAINERS_STORAGE_CONF: storage,
    CONTAINERS_REGISTRIES_CONF: path.join(dir, 'registries.conf'),
    XDG_RUNTIME_DIR: path.join(dir, 'tmp'),
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    XDG_DATA_HOME: path.join(dir, 'data'),
  };
  fs.writeFileSync(env.CONTAINERS_REGISTRIES_CONF, 'unqualified-search-registries = []\n');
  return {
    argv: [
      'podman',
      '--root',
      `${dir}/root`,
      '--runroot',
      `${dir}/runroot`,
      '--tmpdir',
      `${dir}/tmp`,
      '--runtime',
      rt.wrapper,
      '--cgroup-manager',
      'cgroupfs',
      '--events-backend',
      'file',
      '--storage-driver',
      'overlay',
    ],
    env,
    cgroupParent: `/runts-clients-podman-${TAG}`,
  };
}
