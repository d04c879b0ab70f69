/**
 * The Kubernetes path: containerd's CRI plugin (io.containerd.grpc.v1.cri)
 * driven over gRPC as the kubelet drives it.
 *
 * - A private containerd (lib/containerd.ts) with the CRI plugin on, two
 *   runtime handlers of the io.containerd.runc.v2 shim: `runc` (Debian's
 *   /usr/sbin/runc, never the wrapper) and `runts` (the call-logging wrapper
 *   of the runtime under test, so CLIENT_RUNTIME=/usr/sbin/runc runs the
 *   `runts` handler on runc); each with its own state root under the temp dir.
 * - CNI: Debian's containernetworking-plugins (/usr/lib/cni), a bridge of a
 *   per-run name on a 10.x/16 that no host route uses, host-local addresses
 *   kept under the temp dir; no gateway on the bridge, so the host's
 *   ip_forward and iptables are left alone. Network namespaces are mounted
 *   under containerd's state dir.
 * - Images: the busybox test image and a pause image (lib/image.ts) imported
 *   into the `k8s.io` namespace; sandbox_image names the pause image, so
 *   nothing is pulled.
 * - `restrict_oom_score_adj`: root here cannot set the -998 the CRI asks for
 *   pod sandboxes (no CAP_SYS_RESOURCE), for any runtime.
 *
 * The client: lib/cri.proto (the CRI runtime.v1 subset the tests use) with
 * @grpc/grpc-js; every call has a deadline. Exec's streaming URL is read
 * over a WebSocket (the v4.channel.k8s.io protocol), written here.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { TAG, run, show, type Runtime } from './common.js';
import { removeEmptyDirs, startContainerd, type Containerd } from './containerd.js';
import { buildImages, buildPauseImage, IMAGE_REF_CONTAINERD, PAUSE_IMAGE_REF_CONTAINERD } from './image.js';

export const K8S_NS = 'k8s.io';
export const RUNC = '/usr/sbin/runc';
const PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cri.proto');

// ---------------------------------------------------------------- messages

/** Requests are plain objects with the .proto's snake_case field names. */
export type Msg = Record<string, unknown>;

export interface ContainerStatus {
  id: string;
  state: 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
  exit_code: number;
  reason: string;
  message: string;
  log_path: string;
}
export interface PodSandboxStatus {
  id: string;
  state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  network: { ip: string } | null;
  runtime_handler: string;
}
export interface ContainerStats {
  attributes: { id: string };
  cpu: { usage_core_nano_seconds: { value: number } | null } | null;
  memory: { working_set_bytes: { value: number } | null; usage_bytes: { value: number } | null } | null;
}

// ---------------------------------------------------------------- client

const DEADLINE_MS = 60_000;

export class CriClient {
  private readonly client: grpc.Client;

  constructor(sock: string) {
    const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor } };
    };
    this.client = new pkg.runtime.v1.RuntimeService(`unix://${sock}`, grpc.credentials.createInsecure());
  }

  /** One unary call, with a deadline; rejects with the gRPC status message. */
  call<T = Msg>(method: string, req: Msg, timeoutMs = DEADLINE_MS): Promise<T> {
    const fn = (this.client as unknown as Partial<Record<string, (...args: unknown[]) => unknown>>)[method];
    if (!fn) throw new Error(`no CRI method ${method} in cri.proto`);
    return new Promise((resolve, reject) => {
      fn.call(
        this.client,
        req,
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, res: T) => {
          if (err) reject(new Error(`CRI ${method}: ${err.details || err.message}`));
          else resolve(res);
        },
      );
    });
  }

  async podStatus(id: string): Promise<PodSandboxStatus> {
    return (await this.call<{ status: PodSandboxStatus }>('PodSandboxStatus', { pod_sandbox_id: id })).status;
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    return (await this.call<{ status: ContainerStatus }>('ContainerStatus', { container_id: id })).status;
  }

  async execSync(
    id: string,
    cmd: string[],
    timeoutSec = 30,
  ): Promise<{ stdout: string; stderr: string; exit_code: number }> {
    const r = await this.call<{ stdout: Buffer; stderr: Buffer; exit_code: number }>(
      'ExecSync',
      { container_id: id, cmd, timeout: timeoutSec },
      (timeoutSec + 10) * 1000,
    );
    return { stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), exit_code: r.exit_code };
  }

  close(): void {
    this.client.close();
  }
}

// ---------------------------------------------------------------- exec stream

/**
 * Exec through the CRI streaming server, as `kubectl exec` reaches it
 * through the kubelet: a WebSocket on the URL Exec returned, protocol
 * v4.channel.k8s.io (each binary message starts with its channel: 0 stdin,
 * 1 stdout, 2 stderr, 3 the final status as JSON, 4 terminal resize).
 * With `size` a resize message is sent first, as kubectl does for a tty;
 * then `input` on stdin, which stays open until the command ends
 * (containerd's CRI closes a tty exec's output when its stdin closes, so
 * a tty exec is `kubectl exec -it`: with stdin).
 */
export function execStream(
  url: string,
  opts: { size?: { width: number; height: number }; input?: string; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string; exitCode: number; status: string }> {
  const { size, input, timeoutMs = 30_000 } = opts;
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    const req = http.request(url, {
      method: 'GET',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Protocol': 'v4.channel.k8s.io',
      },
    });
    let upgraded: Duplex | undefined;
    const timer = setTimeout(() => {
      req.destroy();
      upgraded?.destroy();
      reject(new Error(`exec stream: no end in ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    req.on('error', fail);
    req.on('response', (res) => fail(new Error(`exec stream: HTTP ${res.statusCode}, no WebSocket upgrade`)));
    req.on('upgrade', (res, sock: Duplex, head: Buffer) => {
      upgraded = sock;
      const want = crypto
        .createHash('sha1')
        .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
        .digest('base64');
      if (res.headers['sec-websocket-accept'] !== want) {
        fail(new Error('exec stream: bad Sec-WebSocket-Accept'));
        return;
      }
      const chans: Buffer[][] = [[], [], [], [], []];
      let buf = head;
      const send = (chan: number, data: string) =>
        sock.write(wsFrame(0x2, Buffer.concat([Buffer.from([chan]), Buffer.from(data)])));
      if (size) send(4, JSON.stringify({ Width: size.width, Height: size.height }));
      if (input) send(0, input);
      const finish = () => {
        clearTimeout(timer);
        const text = (c: number) => Buffer.concat(chans[c] ?? []).toString('utf8');
        const statusJson = text(3);
        let exitCode = -1;
        try {
          const st = JSON.parse(statusJson || '{}');
          if (st.status === 'Success') exitCode = 0;
          const cause = st.details?.causes?.find((c: { reason: string }) => c.reason === 'ExitCode');
          if (cause) exitCode = Number(cause.message);
        } catch {}
        resolve({ stdout: text(1), stderr: text(2), exitCode, status: statusJson });
      };
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const f = wsParse(buf);
          if (!f) break;
          buf = buf.subarray(f.size);
          if (f.opcode === 0x8) {
            sock.end(wsFrame(0x8, Buffer.alloc(0)));
          } else if (f.opcode === 0x9) {
            sock.write(wsFrame(0xa, f.payload));
          } else if (
            (f.opcode === 0x2 || f.opcode === 0x0) &&
            f.payload.length > 1 &&
            f.payload.readUInt8(0) < chans.length
          ) {
            chans[f.payload.readUInt8(0)]?.push(f.payload.subarray(1));
          }
        }
      });
      sock.on('close', finish);
      sock.on('error', fail);
    });
    req.end();
  });
}

/** A client's frame (masked, as RFC 6455 requires of clients), FIN set. */
function wsFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  if (n > 0xffff) throw new Error('exec stream: frames over 64 KiB are not needed here');
  const len = n < 126 ? Buffer.from([0x80 | n]) : Buffer.from([0x80 | 126, n >> 8, n & 0xff]);
  const mask = crypto.randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ mask.readUInt8(i & 3)));
  return Buffer.concat([Buffer.from([0x80 | opcode]), len, mask, body]);
}

/** One server frame (unmasked) from the front of `b`, or null if incomplete. */
function wsParse(b: Buffer): { opcode: number; payload: Buffer; size: number } | null {
  if (b.length < 2) return null;
  let len = b.readUInt8(1) & 0x7f;
  let off = 2;
  if (len === 126) {
    if (b.length < 4) return null;
    len = b.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    if (b.length < 10) return null;
    len = Number(b.readBigUInt64BE(2));
    off = 10;
  }
  if (b.readUInt8(1) & 0x80) off += 4; // a masked server frame: not expected, skip the key
  if (b.length < off + len) return null;
  return { opcode: b.readUInt8(0) & 0x0f, payload: b.subarray(off, off + len), size: off + len };
}

// ---------------------------------------------------------------- the setup

export interface Cri {
  cd: Containerd;
  client: CriClient;
  /** The cgroup parent of every pod this run makes (carries TAG). */
  cgroupParent: string;
  bridge: string;
  subnet: string;
  netnsDir: string;
  /** State roots of the two handlers' runtimes. */
  roots: { runc: string; runts: string };
  /** Everything left behind after the pods were removed and containerd stopped; [] when clean. */
  stop(): Promise<string[]>;
}

/** A 10.x.0.0/16 that no host address or route uses (x from 200 to 249). */
function freeSubnet(): string {
  const used =
    run('ip', ['-4', '-o', 'route', 'show', 'table', 'all']).stdout + run('ip', ['-4', '-o', 'addr']).stdout;
  const start = crypto.randomInt(50);
  for (let i = 0; i < 50; i++) {
    const x = 200 + ((start + i) % 50);
    if (!used.includes(`10.${x}.`)) return `10.${x}.0.0/16`;
  }
  throw new Error('no free 10.x/16 for the CNI bridge');
}

export async function startCri(dir: string, rt: Runtime): Promise<Cri> {
  const cdDir = path.join(dir, 'containerd');
  const roots = { runc: path.join(dir, 'runc-root'), runts: path.join(dir, 'runts-root') };
  const netName = `runts-cri-${TAG}`;
  const bridge = `rtcri${TAG}`.slice(0, 15);
  const subnet = freeSubnet();
  const cniConf = path.join(dir, 'cni', 'net.d');
  const ipamDir = path.join(dir, 'cni', 'ipam');
  fs.mkdirSync(cniConf, { recursive: true });
  fs.writeFileSync(
    path.join(cniConf, '10-runts.conflist'),
    JSON.stringify(
      {
        cniVersion: '1.0.0',
        name: netName,
        plugins: [
          {
            type: 'bridge',
            bridge,
            isGateway: false,
            ipMasq: false,
            ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: ipamDir },
          },
        ],
      },
      null,
      2,
    ),
  );

  const imgs = path.join(dir, 'images');
  const busybox = buildImages(path.join(imgs, 'busybox'));
  const pause = buildPauseImage(path.join(imgs, 'pause'));

  const P = 'plugins."io.containerd.grpc.v1.cri"';
  const handler = (name: string, binary: string) => `
[${P}.containerd.runtimes.${name}]
  runtime_type = "io.containerd.runc.v2"
[${P}.containerd.runtimes.${name}.options]
  BinaryName = "${binary}"
  Root = "${roots[name as 'runc' | 'runts']}"
`;
  const cri = `
[${P}]
  sandbox_image = "${PAUSE_IMAGE_REF_CONTAINERD}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[${P}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
${handler('runc', RUNC)}${handler('runts', rt.wrapper)}
[${P}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "${cniConf}"
  max_conf_num = 1
`;
  // libcni caches results under /var/lib/cni whatever the configuration says.
  const CNI_CACHE = '/var/lib/cni';
  const cniCacheWasThere = fs.existsSync(CNI_CACHE);
  const cd = await startContainerd(cdDir, rt, { cri });
  const client = new CriClient(cd.sock);
  const cleanupOnError = async () => {
    client.close();
    await cd.stop();
    run('ip', ['link', 'del', bridge]);
    if (!cniCacheWasThere) removeEmptyDirs(CNI_CACHE);
  };
  try {
    for (const img of [busybox.oci, pause.oci]) {
      const r = run('ctr', ['--address', cd.sock, '-n', K8S_NS, 'images', 'import', '--all-platforms', img], {
        timeout: 120_000,
      });
      if (r.status !== 0) throw new Error(`ctr images import: ${show(r)}`);
    }
    const st = await client.call<{
      status: { conditions: { type: string; status: boolean; message: string }[] };
    }>('Status', {});
    const notReady = st.status.conditions.filter((c) => !c.status);
    if (notReady.length)
      throw new Error(
        `CRI not ready: ${JSON.stringify(notReady)}\n${fs.readFileSync(cd.log, 'utf8').slice(-3000)}`,
      );
  } catch (e) {
    await cleanupOnError();
    throw e;
  }
  const cgroupParent = `/runts-cri-${TAG}`;
  const netnsDir = path.join(cdDir, 'state', 'io.containerd.grpc.v1.cri', 'netns');

  const stop = async (): Promise<string[]> => {
    const problems: string[] = [];
    // Pods the tests did not remove: the way the kubelet would, stop then remove.
    try {
      const { containers } = await client.call<{ containers: { id: string; metadata?: { name: string } }[] }>(
        'ListContainers',
        {},
      );
      for (const ct of containers) problems.push(`container ${ct.metadata?.name} (${ct.id}) left`);
      const { items } = await client.call<{ items: { id: string; metadata?: { name: string } }[] }>(
        'ListPodSandbox',
        {},
      );
      for (const p of items) {
        problems.push(`pod ${p.metadata?.name} (${p.id}) left`);
        await client.call('StopPodSandbox', { pod_sandbox_id: p.id }).catch(() => {});
        await client
          .call('RemovePodSandbox', { pod_sandbox_id: p.id })
          .catch((e: unknown) => problems.push(String(e)));
      }
    } catch (e) {
      problems.push(`ListPodSandbox at teardown: ${(e as Error).message}`);
    }
    client.close();
    problems.push(...(await cd.stop()));
    // Network namespaces: containerd mounts them (nsfs) under netnsDir.
    const netns = fs.existsSync(netnsDir) ? fs.readdirSync(netnsDir) : [];
    if (netns.length) problems.push(`network namespaces left: ${netns.join(',')}`);
    // CNI: veths on our bridge, addresses still reserved, libcni's cached results.
    const ports = run('ip', ['-o', 'link', 'show', 'master', bridge]).stdout.trim();
    if (ports) problems.push(`interfaces left on ${bridge}: ${ports}`);
    const reserved = fs.existsSync(path.join(ipamDir, netName))
      ? fs.readdirSync(path.join(ipamDir, netName)).filter((f) => /^\d/.test(f))
      : [];
    if (reserved.length) problems.push(`addresses still reserved: ${reserved.join(',')}`);
    const cache = path.join(CNI_CACHE, 'results');
    const cached = fs.existsSync(cache)
      ? fs.readdirSync(cache).filter((f) => f.startsWith(`${netName}-`))
      : [];
    if (cached.length) problems.push(`CNI results cached: ${cached.join(',')}`);
    for (const f of cached) fs.rmSync(path.join(cache, f), { force: true });
    if (!cniCacheWasThere) removeEmptyDirs(CNI_CACHE);
    // The bridge is the plugin's (it creates it on first ADD and never deletes it).
    run('ip', ['link', 'del', bridge]);
    for (const [name, root] of Object.entries(roots)) {
      const nsRoot = path.join(root, K8S_NS); // the shim gives the runtime --root <Root>/<namespace>
      const left = fs.existsSync(nsRoot) ? fs.readdirSync(nsRoot) : [];
      if (left.length) problems.push(`${name} state left in ${nsRoot}: ${left.join(',')}`);
    }
    return problems;
  };
  return { cd, client, cgroupParent, bridge, subnet, netnsDir, roots, stop };
}

/** CRI container logs ("<time> stdout F <text>" lines): the text, joined. */
export function readCriLog(file: string): string {
  if (!fs.existsSync(file)) return '';
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [, , tag, ...rest] = l.split(' ');
      return rest.join(' ') + (tag === 'F' ? '\n' : '');
    })
    .join('');
}

export { IMAGE_REF_CONTAINERD as CRI_IMAGE };
