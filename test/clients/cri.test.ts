/**
 * Kubernetes' path to the runtime: containerd's CRI plugin, driven over
 * gRPC the way the kubelet drives it (lib/cri.ts), with pods on the `runts`
 * runtime handler (a RuntimeClass's handler). Every scenario checks what the
 * process inside the container sees.
 *
 * CLIENT_RUNTIME=/usr/sbin/runc runs the same scenarios on runc (the
 * `runts` handler then runs runc through the call-logging wrapper).
 */
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  TAG,
  WAIT_WINSIZE,
  alive,
  cgroupDirs,
  lastCalls,
  makeTempDir,
  mountsUnder,
  pidsWithCmdline,
  readCgroupFile,
  removeCgroupTree,
  setupRuntime,
  sleep,
  stopPids,
  unmountUnder,
  waitFor,
} from './lib/common.js';
import {
  startCri,
  execStream,
  readCriLog,
  CRI_IMAGE,
  RUNC,
  type Cri,
  type ContainerStats,
  type ContainerStatus,
  type Msg,
} from './lib/cri.js';
import { scenario, clientAvailable } from './lib/scenario.js';

const HAVE_CNI =
  fs.existsSync('/usr/lib/cni/bridge') &&
  fs.existsSync('/usr/lib/cni/host-local') &&
  fs.existsSync('/usr/lib/cni/loopback');
const HAVE =
  clientAvailable(['containerd', 'ctr', 'containerd-shim-runc-v2', 'ip']) && fs.existsSync(RUNC) && HAVE_CNI;
const base = makeTempDir('runts-clients-cri-');
const rt = setupRuntime(base);
let cri: Cri | undefined;
let n = 0;

const c = () => cri!.client;
const sh = (script: string) => ['sh', '-c', script];

interface PodOpts {
  handler?: string;
  /** LinuxSandboxSecurityContext fields. */
  security?: Msg;
}
interface Pod {
  id: string;
  name: string;
  config: Msg;
  cgroupParent: string;
  logDir: string;
}

/** The kubelet's namespace options for a plain pod: the pod's network and IPC, a PID namespace per container. */
const POD_NAMESPACES = { network: 'POD', pid: 'CONTAINER', ipc: 'POD' };

/**
 * RunPodSandbox, as the kubelet sends it: metadata, hostname (none on the
 * host network, which has no UTS namespace of its own), log directory,
 * cgroup parent, namespace options always spelled out.
 */
async function runPod(opts: PodOpts = {}): Promise<Pod> {
  const name = `pod${++n}`;
  const logDir = path.join(base, 'logs', name);
  fs.mkdirSync(logDir, { recursive: true });
  const cgroupParent = `${cri!.cgroupParent}/${name}`;
  const namespaces = { ...POD_NAMESPACES, ...(opts.security?.namespace_options as Msg | undefined) };
  const config = {
    metadata: { name, uid: `uid-${TAG}-${name}`, namespace: 'default', attempt: 0 },
    hostname: namespaces.network === 'NODE' ? '' : name,
    log_directory: logDir,
    labels: { app: name },
    linux: {
      cgroup_parent: cgroupParent,
      security_context: { ...opts.security, namespace_options: namespaces },
    },
  };
  const r = await c().call<{ pod_sandbox_id: string }>(
    'RunPodSandbox',
    { config, runtime_handler: opts.handler ?? 'runts' },
    120_000,
  );
  return { id: r.pod_sandbox_id, name, config, cgroupParent, logDir };
}

interface CtrOpts {
  name?: string;
  envs?: Record<string, string>;
  workingDir?: string;
  tty?: boolean;
  resources?: Msg;
  /** LinuxContainerSecurityContext fields. */
  security?: Msg;
  mounts?: Msg[];
  start?: boolean;
}

/** CreateContainer (+ StartContainer unless start: false) in `pod`. */
async function runCtr(
  pod: Pod,
  command: string[],
  o: CtrOpts = {},
): Promise<{ id: string; name: string; log: string }> {
  const name = o.name ?? `c${++n}`;
  const config = {
    metadata: { name, attempt: 0 },
    image: { image: CRI_IMAGE },
    command,
    working_dir: o.workingDir ?? '',
    envs: Object.entries(o.envs ?? {}).map(([key, value]) => ({ key, value })),
    mounts: o.mounts ?? [],
    log_path: `${name}.log`,
    tty: o.tty ?? false,
    linux: {
      resources: o.resources ?? {},
      // The kubelet gives each container the pod's namespace options.
      security_context: {
        ...o.security,
        namespace_options: (pod.config.linux as { security_context: Msg }).security_context.namespace_options,
      },
    },
  };
  const r = await c().call<{ container_id: string }>(
    'CreateContainer',
    { pod_sandbox_id: pod.id, config, sandbox_config: pod.config },
    120_000,
  );
  if (o.start !== false) await c().call('StartContainer', { container_id: r.container_id }, 120_000);
  return { id: r.container_id, name, log: path.join(pod.logDir, `${name}.log`) };
}

/** A pod with one long-running container; `fn` gets both; the pod is removed after. */
async function withPod(
  p: PodOpts,
  cOpts: CtrOpts,
  fn: (pod: Pod, id: string) => Promise<void>,
): Promise<void> {
  const pod = await runPod(p);
  try {
    const { id } = await runCtr(pod, ['sleep', '1000'], cOpts);
    await fn(pod, id);
  } finally {
    await removePod(pod);
  }
}

/** The kubelet's teardown: StopPodSandbox, then RemovePodSandbox. */
async function removePod(pod: Pod): Promise<void> {
  await c().call('StopPodSandbox', { pod_sandbox_id: pod.id }, 120_000);
  await c().call('RemovePodSandbox', { pod_sandbox_id: pod.id }, 120_000);
}

/** ExecSync of a shell script; asserts exit 0 and returns stdout. */
async function inside(id: string, script: string): Promise<string> {
  const r = await c().execSync(id, sh(script));
  assert.equal(
    r.exit_code,
    0,
    `exec ${script}: exit ${r.exit_code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\nlast runtime calls:\n${lastCalls(rt)}`,
  );
  return r.stdout;
}

async function waitExited(id: string, ms = 30_000): Promise<ContainerStatus> {
  return waitFor<ContainerStatus | undefined>(
    async () => {
      const s = await c().containerStatus(id);
      return s.state === 'CONTAINER_EXITED' ? s : undefined;
    },
    ms,
    `container ${id} to exit`,
  ) as Promise<ContainerStatus>;
}

const capEff = (status: string) => BigInt('0x' + status.match(/CapEff:\s*([0-9a-f]+)/)![1]!);
const CAP_CHOWN = 0n,
  CAP_NET_RAW = 13n,
  CAP_NET_ADMIN = 12n,
  CAP_SYS_ADMIN = 21n;

describe(
  `CRI (containerd's CRI plugin over gRPC) on ${rt.kind}`,
  {
    skip: HAVE
      ? false
      : 'containerd, runc, iproute2 or containernetworking-plugins not installed (apt-get install containerd runc iproute2 containernetworking-plugins)',
  },
  () => {
    before(async () => {
      cri = await startCri(base, rt);
      const v = await c().call<{ runtime_name: string; runtime_api_version: string }>('Version', {
        version: 'v1',
      });
      assert.equal(v.runtime_name, 'containerd');
    });

    after(async () => {
      const problems = cri ? await cri.stop() : [];
      if (cri) {
        // Container cgroups (<parent>/<pod>/<id>) must be gone; the pods' own
        // parents are the kubelet's to remove (here: ours).
        const parent = cri.cgroupParent;
        for (const top of cgroupDirs(parent)) {
          for (const pod of fs.readdirSync(top, { withFileTypes: true }).filter((e) => e.isDirectory())) {
            const kids = fs
              .readdirSync(path.join(top, pod.name), { withFileTypes: true })
              .filter((e) => e.isDirectory());
            if (kids.length)
              problems.push(`cgroups left in ${top}/${pod.name}: ${kids.map((k) => k.name).join(',')}`);
          }
        }
        problems.push(...(await removeCgroupTree(parent)).map((s) => `cgroup still populated: ${s}`));
        const nsfs = mountsUnder(base);
        if (nsfs.length) problems.push(`mounts left: ${nsfs.join(', ')}`);
      }
      const procs = pidsWithCmdline(base);
      if (procs.length) problems.push(`processes left: ${procs.join(',')}`);
      await stopPids(procs);
      unmountUnder(base);
      fs.rmSync(base, { recursive: true, force: true });
      assert.deepEqual(problems, [], 'the suite left things behind');
    });

    scenario(rt, 'RunPodSandbox: a ready pod with an address on the CNI bridge', async () => {
      const pod = await runPod();
      try {
        const st = await c().podStatus(pod.id);
        assert.equal(st.state, 'SANDBOX_READY');
        assert.equal(st.runtime_handler, 'runts');
        const prefix = cri!.subnet.split('.').slice(0, 2).join('.') + '.';
        assert.ok(st.network?.ip.startsWith(prefix), `pod IP ${st.network?.ip} in ${cri!.subnet}`);
        // The pause container's cgroup under the pod's parent holds its process.
        const procs = (readCgroupFile('memory', `${pod.cgroupParent}/${pod.id}`, 'cgroup.procs') ?? '')
          .split('\n')
          .filter(Boolean);
        assert.ok(
          procs.some((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('/bin/sh\0-c\0trap')),
          `the pause process in the sandbox cgroup: ${procs.join(',')}`,
        );
        // A veth of the pod on our bridge.
        assert.match(fs.readdirSync(`/sys/class/net/${cri!.bridge}/brif`).join(','), /veth/);
      } finally {
        await removePod(pod);
      }
    });

    scenario(
      rt,
      "CreateContainer/StartContainer: output, env, workdir, hostname and the pod's address",
      async () => {
        const pod = await runPod();
        try {
          const ip = (await c().podStatus(pod.id)).network!.ip;
          const ctr = await runCtr(
            pod,
            sh('echo "[$GREETING]"; pwd; hostname; ip -4 -o addr show eth0; echo done'),
            {
              envs: { GREETING: 'hi there' },
              workingDir: '/etc',
            },
          );
          const st = await waitExited(ctr.id);
          assert.equal(st.exit_code, 0, JSON.stringify(st));
          assert.equal(st.reason, 'Completed');
          const out = readCriLog(ctr.log);
          assert.match(out, /^\[hi there\]\n\/etc\n/, out);
          assert.match(out, new RegExp(`\\n${pod.name}\\n`), out);
          assert.match(out, new RegExp(`eth0\\s+inet ${ip.replace(/\./g, '\\.')}/16`), out);
          const bad = await runCtr(pod, sh('echo failing >&2; exit 3'));
          const bst = await waitExited(bad.id);
          assert.equal(bst.exit_code, 3);
          assert.equal(bst.reason, 'Error');
          assert.match(fs.readFileSync(bad.log, 'utf8'), / stderr F failing\n/);
        } finally {
          await removePod(pod);
        }
      },
    );

    scenario(
      rt,
      "two containers share the pod's network and IPC namespaces (not its PID namespace)",
      async () => {
        const pod = await runPod();
        try {
          const a = await runCtr(pod, sh('nc -l -p 8080 -e echo hello-from-a; sleep 1000'));
          const b = await runCtr(pod, ['sleep', '1000']);
          const ns = async (id: string) =>
            inside(id, 'for n in net ipc pid uts; do readlink /proc/self/ns/$n; done');
          const [na, nb] = (await Promise.all([ns(a.id), ns(b.id)])).map((s) => s.trim().split('\n'));
          assert.ok(na);
          assert.ok(nb);
          assert.equal(na[0], nb[0], 'same network namespace');
          assert.equal(na[1], nb[1], 'same IPC namespace');
          assert.notEqual(na[2], nb[2], 'own PID namespaces (shareProcessNamespace off)');
          assert.equal(na[3], nb[3], 'same UTS namespace');
          assert.notEqual(na[0], fs.readlinkSync('/proc/self/ns/net'));
          // Loopback between them, and POSIX shared memory (/dev/shm) seen by both.
          const got = await waitFor(
            async () => {
              const r = await c().execSync(b.id, sh('nc 127.0.0.1 8080 </dev/null'));
              return r.stdout.includes('hello-from-a') ? r.stdout : '';
            },
            15_000,
            'b reaching a over loopback',
          );
          assert.match(got, /hello-from-a/);
          await inside(a.id, 'echo shared > /dev/shm/seg');
          assert.equal(await inside(b.id, 'cat /dev/shm/seg'), 'shared\n');
        } finally {
          await removePod(pod);
        }
      },
    );

    scenario(rt, 'ExecSync: output, stderr, exit status, user and timeout', async () => {
      await withPod({}, {}, async (_pod, id) => {
        const r = await c().execSync(id, sh('echo out; echo err >&2; id -u; exit 3'));
        assert.deepEqual([r.exit_code, r.stdout, r.stderr], [3, 'out\n0\n', 'err\n']);
        const ps = await inside(id, 'ps -o pid,args');
        assert.match(ps, /\n\s*1 sleep 1000/, ps);
        const t0 = Date.now();
        const slow = c().execSync(id, ['sleep', '30'], 2);
        await assert.rejects(slow, /timeout|deadline/i);
        assert.ok(Date.now() - t0 < 20_000, 'ExecSync timeout honoured');
        // The exec'd process is gone when the timeout killed it.
        await waitFor(
          async () => !(await inside(id, 'ps -o args')).includes('sleep 30'),
          10_000,
          'timed-out exec killed',
        );
      });
    });

    scenario(rt, 'Exec with a tty through the streaming server (WebSocket)', async () => {
      await withPod({}, {}, async (_pod, id) => {
        // kubectl exec -it: stdin and a tty, the window size sent first.
        const { url } = await c().call<{ url: string }>('Exec', {
          container_id: id,
          cmd: sh(
            `tty; read line; echo "got=$line"; ${WAIT_WINSIZE}; echo size=$s; test -t 0 && echo stdin-is-tty; exit 5`,
          ),
          tty: true,
          stdin: true,
          stdout: true,
        });
        const r = await execStream(url, { size: { width: 91, height: 27 }, input: 'hello\n' });
        const why = JSON.stringify(r);
        assert.match(r.stdout, /(^|\n)\/dev\/pts\/\d+\r\n/, why);
        // The input may be echoed before or after tty's line, as it arrives.
        assert.match(
          r.stdout,
          /hello\r\n[\s\S]*got=hello\r\n/,
          `the terminal echoes the input, and the shell reads it: ${why}`,
        );
        assert.match(r.stdout, /size=27 91\r\n/, why);
        assert.match(r.stdout, /stdin-is-tty/, why);
        assert.equal(r.exitCode, 5, why);
        const plain = await c().call<{ url: string }>('Exec', {
          container_id: id,
          cmd: sh('echo o; echo e >&2; test -t 1 || echo not-a-tty'),
          stdout: true,
          stderr: true,
        });
        const p = await execStream(plain.url);
        assert.deepEqual([p.stdout, p.stderr, p.exitCode], ['o\nnot-a-tty\n', 'e\n', 0], JSON.stringify(p));
      });
    });

    scenario(rt, "UpdateContainerResources: new limits in the container's cgroup", async () => {
      await withPod(
        {},
        {
          resources: {
            memory_limit_in_bytes: 128 << 20,
            cpu_period: 100000,
            cpu_quota: 50000,
            cpu_shares: 256,
          },
        },
        async (pod, id) => {
          const rel = `${pod.cgroupParent}/${id}`;
          const seen = () =>
            inside(
              id,
              'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares',
            );
          assert.equal(await seen(), `${128 << 20}\n50000\n256\n`);
          assert.equal(readCgroupFile('memory', rel, 'memory.limit_in_bytes'), String(128 << 20));
          await c().call('UpdateContainerResources', {
            container_id: id,
            linux: { memory_limit_in_bytes: 64 << 20, cpu_period: 100000, cpu_quota: 20000, cpu_shares: 512 },
          });
          assert.equal(await seen(), `${64 << 20}\n20000\n512\n`);
          assert.equal(readCgroupFile('cpu', rel, 'cpu.cfs_quota_us'), '20000');
          assert.match(
            fs.readFileSync(rt.log, 'utf8'),
            new RegExp(`update .*${id}`),
            'the runtime got update',
          );
        },
      );
    });

    scenario(rt, 'ContainerStats: memory and CPU of the container', async () => {
      await withPod({}, {}, async (_pod, id) => {
        await inside(
          id,
          'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; dd if=/dev/zero of=/dev/shm/f bs=1M count=8 2>/dev/null',
        );
        const s = (await c().call<{ stats: ContainerStats }>('ContainerStats', { container_id: id })).stats;
        assert.equal(s.attributes.id, id);
        assert.ok((s.cpu?.usage_core_nano_seconds?.value ?? 0) > 0, JSON.stringify(s));
        // The working set counts the 8 MiB written to /dev/shm (tmpfs pages are charged to the container).
        assert.ok((s.memory?.working_set_bytes?.value ?? 0) >= 8 << 20, JSON.stringify(s));
      });
    });

    scenario(
      rt,
      'StopContainer with a grace period: SIGTERM trapped, or SIGKILL when it runs out',
      async () => {
        const pod = await runPod();
        try {
          const polite = await runCtr(
            pod,
            sh('trap "echo got TERM; exit 0" TERM; echo ready; while :; do sleep 0.1; done'),
          );
          await waitFor(() => readCriLog(polite.log).includes('ready'), 10_000, 'ready');
          let t0 = Date.now();
          await c().call('StopContainer', { container_id: polite.id, timeout: 10 });
          assert.ok(Date.now() - t0 < 8000, 'stopped on SIGTERM, before the grace period ended');
          const ps = await c().containerStatus(polite.id);
          assert.deepEqual([ps.state, ps.exit_code], ['CONTAINER_EXITED', 0]);
          assert.match(readCriLog(polite.log), /got TERM/);

          const stubborn = await runCtr(
            pod,
            sh('trap "echo ignoring TERM" TERM; echo ready; while :; do sleep 0.1; done'),
          );
          await waitFor(() => readCriLog(stubborn.log).includes('ready'), 10_000, 'ready');
          t0 = Date.now();
          await c().call('StopContainer', { container_id: stubborn.id, timeout: 2 });
          const took = Date.now() - t0;
          assert.ok(took >= 1900 && took < 15_000, `killed after the 2 s grace period (took ${took} ms)`);
          const ss = await c().containerStatus(stubborn.id);
          assert.deepEqual([ss.state, ss.exit_code], ['CONTAINER_EXITED', 137]);
          assert.match(readCriLog(stubborn.log), /ignoring TERM/);
          await c().call('RemoveContainer', { container_id: stubborn.id });
          await assert.rejects(c().containerStatus(stubborn.id), /not found|does not exist/i);
        } finally {
          await removePod(pod);
        }
      },
    );

    scenario(rt, 'RemovePodSandbox: containers, processes, cgroups, netns, veth and state gone', async () => {
      const pod = await runPod();
      const ctr = await runCtr(pod, ['sleep', '1000']);
      const hostPids = (readCgroupFile('memory', `${pod.cgroupParent}/${ctr.id}`, 'cgroup.procs') ?? '')
        .split('\n')
        .filter(Boolean)
        .map(Number);
      assert.equal(hostPids.length, 1);
      const netns = fs.readdirSync(cri!.netnsDir);
      const veths = fs.readdirSync(`/sys/class/net/${cri!.bridge}/brif`);
      assert.ok(netns.length >= 1 && veths.length >= 1);
      await removePod(pod);
      const left = await c().call<{ containers: unknown[] }>('ListContainers', {
        filter: { pod_sandbox_id: pod.id },
      });
      assert.deepEqual(left.containers, []);
      const { items } = await c().call<{ items: { id: string }[] }>('ListPodSandbox', {});
      assert.equal(
        items.some((p) => p.id === pod.id),
        false,
      );
      const hostPid = hostPids[0] ?? assert.fail('no container process');
      await waitFor(() => !alive(hostPid), 5000, 'container process gone');
      for (const id of [pod.id, ctr.id])
        assert.deepEqual(cgroupDirs(`${pod.cgroupParent}/${id}`), [], `cgroup of ${id} removed`);
      assert.deepEqual(
        fs.readdirSync(cri!.netnsDir).filter((f) => netns.includes(f)).length,
        netns.length - 1,
        'its netns removed',
      );
      assert.equal(
        fs.readdirSync(`/sys/class/net/${cri!.bridge}/brif`).length,
        veths.length - 1,
        'its veth removed',
      );
      for (const root of Object.values(cri!.roots)) {
        for (const id of [pod.id, ctr.id])
          assert.equal(fs.existsSync(path.join(root, 'k8s.io', id)), false, `runtime state of ${id}`);
      }
    });

    scenario(rt, 'security context: run as user and group, supplementary groups, no_new_privs', async () => {
      await withPod(
        {
          security: {
            run_as_user: { value: 1000 },
            run_as_group: { value: 1000 },
            supplemental_groups: [65534],
          },
        },
        {
          security: {
            run_as_user: { value: 1000 },
            run_as_group: { value: 1000 },
            supplemental_groups: [65534],
            no_new_privs: true,
          },
        },
        async (_pod, id) => {
          const out = await inside(
            id,
            'id -u; id -g; id -G; grep -E "^(NoNewPrivs|CapEff)" /proc/self/status; ps -o user,args | grep "sleep 1000"',
          );
          const [u, g, groups = ''] = out.split('\n');
          assert.deepEqual([u, g], ['1000', '1000']);
          assert.ok(groups.split(' ').includes('65534'), out);
          assert.match(out, /NoNewPrivs:\s*1/);
          assert.equal(capEff(out), 0n, 'a non-root user has no effective capabilities');
          assert.match(out, /(1000|tester)\s+sleep 1000/, 'the container process runs as 1000');
        },
      );
    });

    scenario(rt, 'security context: read-only root filesystem', async () => {
      await withPod({}, { security: { readonly_rootfs: true } }, async (_pod, id) => {
        const out = await inside(
          id,
          'touch /x 2>&1; echo rc=$?; grep " / " /proc/mounts; touch /dev/shm/ok && echo shm-writable',
        );
        assert.match(out, /Read-only file system\nrc=1\n/, out);
        assert.match(out.split('\n').find((l) => / \/ /.test(l)) ?? '', /\bro\b/);
        assert.match(out, /shm-writable/);
      });
    });

    scenario(rt, 'security context: capabilities added and dropped', async () => {
      await withPod(
        {},
        {
          security: {
            capabilities: {
              add_capabilities: ['NET_ADMIN', 'SYS_ADMIN'],
              drop_capabilities: ['CHOWN', 'NET_RAW'],
            },
          },
        },
        async (_pod, id) => {
          const out = await inside(
            id,
            'grep CapEff /proc/self/status; touch /tmp/f; chown 1000 /tmp/f 2>&1; echo chown=$?; ip link set dev lo mtu 65000 && cat /sys/class/net/lo/mtu; mkdir /m && mount -t tmpfs none /m && echo mounted',
          );
          const eff = capEff(out);
          assert.equal(eff & (1n << CAP_CHOWN), 0n, 'CHOWN dropped');
          assert.equal(eff & (1n << CAP_NET_RAW), 0n, 'NET_RAW dropped');
          assert.ok(
            eff & (1n << CAP_NET_ADMIN) && eff & (1n << CAP_SYS_ADMIN),
            'NET_ADMIN and SYS_ADMIN added',
          );
          assert.match(out, /Operation not permitted\nchown=1/, out);
          assert.match(out, /\n65000\n/, out);
          assert.match(out, /mounted/, out);
        },
      );
      await withPod({}, { security: { capabilities: { drop_capabilities: ['ALL'] } } }, async (_pod, id) => {
        assert.equal(capEff(await inside(id, 'grep CapEff /proc/self/status')), 0n, 'drop ALL');
      });
    });

    scenario(rt, 'security context: seccomp RuntimeDefault and Unconfined', async () => {
      await withPod({}, { security: { seccomp: { profile_type: 'RuntimeDefault' } } }, async (_pod, id) => {
        const out = await inside(id, 'grep Seccomp: /proc/self/status; unshare -U true 2>&1; echo rc=$?');
        assert.match(out, /Seccomp:\s*2/, out);
        assert.match(out, /rc=[1-9]/, 'unshare blocked by the default profile');
      });
      await withPod({}, { security: { seccomp: { profile_type: 'Unconfined' } } }, async (_pod, id) => {
        assert.match(await inside(id, 'grep Seccomp: /proc/self/status'), /Seccomp:\s*0/);
      });
    });

    scenario(
      rt,
      "security context: privileged (all of root's capabilities, host devices, no read-only /proc paths)",
      async () => {
        await withPod(
          { security: { privileged: true } },
          { security: { privileged: true } },
          async (_pod, id) => {
            const out = await inside(
              id,
              'grep -E "^(CapEff|Seccomp):" /proc/self/status; ls /dev | wc -l; echo pod > /proc/sys/kernel/domainname && cat /proc/sys/kernel/domainname',
            );
            const bnd = BigInt(
              '0x' + fs.readFileSync('/proc/self/status', 'utf8').match(/CapBnd:\s*([0-9a-f]+)/)![1]!,
            );
            assert.equal(capEff(out), bnd, 'every capability root has here');
            assert.match(out, /Seccomp:\s*0/);
            assert.ok(Number(out.split('\n')[2]) > 20, `host devices: ${out}`);
            assert.match(out, /\npod\n$/, "writes /proc/sys (its own UTS namespace's domainname)");
          },
        );
      },
    );

    scenario(rt, "hostNetwork: the pod sees the host's network namespace", async () => {
      await withPod({ security: { namespace_options: { network: 'NODE' } } }, {}, async (pod, id) => {
        const out = await inside(id, 'readlink /proc/self/ns/net; ip -o link show eth0');
        assert.equal(out.split('\n')[0], fs.readlinkSync('/proc/self/ns/net'));
        assert.match(out, /eth0/);
        const st = await c().podStatus(pod.id);
        assert.equal(st.network?.ip ?? '', '', 'no pod IP on the host network');
      });
    });

    scenario(rt, "hostPID: the container sees the host's processes", async () => {
      await withPod(
        { security: { namespace_options: { pid: 'NODE' } } },
        { security: { namespace_options: { pid: 'NODE' } } },
        async (_pod, id) => {
          const out = await inside(
            id,
            `readlink /proc/self/ns/pid; test -d /proc/${process.pid} && echo sees-test-runner`,
          );
          assert.equal(out.split('\n')[0], fs.readlinkSync('/proc/self/ns/pid'));
          assert.match(out, /sees-test-runner/);
        },
      );
    });

    scenario(rt, 'shareProcessNamespace (pid POD): containers see the pause process as PID 1', async () => {
      await withPod(
        { security: { namespace_options: { pid: 'POD' } } },
        { security: { namespace_options: { pid: 'POD' } } },
        async (_pod, id) => {
          const out = await inside(id, 'ps -o pid,args');
          assert.match(out, /\n\s*1 \/bin\/sh -c trap/, out);
          assert.match(out, /sleep 1000/, out);
        },
      );
    });

    scenario(rt, 'memory limit: OOM kill reported as OOMKilled', async () => {
      const pod = await runPod();
      try {
        const ctr = await runCtr(pod, sh('echo start; tail /dev/zero'), {
          resources: { memory_limit_in_bytes: 32 << 20 },
        });
        const st = await waitExited(ctr.id, 60_000);
        assert.deepEqual([st.reason, st.exit_code], ['OOMKilled', 137], JSON.stringify(st));
      } finally {
        await removePod(pod);
      }
    });

    scenario(rt, 'RuntimeClass: runtime_handler selects runts (its calls logged) or runc', async () => {
      const onRunts = await runPod({ handler: 'runts' });
      const onRunc = await runPod({ handler: 'runc' });
      try {
        const a = await runCtr(onRunts, ['sleep', '1000']);
        const b = await runCtr(onRunc, ['sleep', '1000']);
        assert.equal((await c().podStatus(onRunts.id)).runtime_handler, 'runts');
        assert.equal((await c().podStatus(onRunc.id)).runtime_handler, 'runc');
        assert.equal(await inside(a.id, 'echo a'), 'a\n');
        assert.equal(await inside(b.id, 'echo b'), 'b\n');
        const log = fs.readFileSync(rt.log, 'utf8');
        for (const id of [onRunts.id, a.id]) {
          assert.match(log, new RegExp(`create .*${id}`), `the runts handler created ${id}`);
          assert.match(log, new RegExp(`start ${id}|start .* ${id}`), `the runts handler started ${id}`);
        }
        assert.match(log, new RegExp(`exec .*${a.id}`), 'ExecSync went through the runts handler');
        for (const id of [onRunc.id, b.id])
          assert.equal(log.includes(id), false, `the runc handler's ${id} is not in the runts log`);
        assert.ok(
          fs.existsSync(path.join(cri!.roots.runts, 'k8s.io', a.id)) &&
            fs.existsSync(path.join(cri!.roots.runc, 'k8s.io', b.id)),
        );
      } finally {
        await removePod(onRunts);
        await removePod(onRunc);
      }
      const log = fs.readFileSync(rt.log, 'utf8');
      assert.match(log, new RegExp(`delete .*${onRunts.id}`), 'the runts handler deleted the sandbox');
      assert.match(
        log,
        new RegExp(`kill .*--all .*${onRunts.id}|kill .*${onRunts.id}`),
        'the runts handler killed the sandbox',
      );
    });

    scenario(
      rt,
      'a teardown with running containers leaves no process behind (StopPodSandbox kills them)',
      async () => {
        const pod = await runPod();
        const a = await runCtr(pod, sh('sleep 1001 & sleep 1002 & trap "" TERM; wait'));
        await sleep(300);
        const rel = `${pod.cgroupParent}/${a.id}`;
        const pids = (readCgroupFile('memory', rel, 'cgroup.procs') ?? '')
          .split('\n')
          .filter(Boolean)
          .map(Number);
        assert.equal(pids.length, 3, `processes in ${rel}: ${pids.join(',')}`);
        await removePod(pod);
        await waitFor(() => !pids.some(alive), 10_000, 'every process of the pod gone');
        assert.deepEqual(cgroupDirs(rel), []);
      },
    );
  },
);
