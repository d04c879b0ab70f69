/**
 * A synchronous client of systemd's D-Bus API for the systemd driver. The
 * D-Bus library is asynchronous and runts is not: the calls run in a worker
 * thread (bus-worker.ts, built as dist/systemd-bus.cjs with the library in
 * it, loaded only with --systemd-cgroup) while this thread waits on a shared
 * word for each answer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Property } from './unit.js';

export type BusRequest =
  | { op: 'connect' }
  | { op: 'version' }
  | { op: 'start'; unit: string; props: Property[] }
  | { op: 'stop'; unit: string }
  | { op: 'reset-failed'; unit: string }
  | { op: 'set'; unit: string; props: Property[] };
export type BusReply =
  | { ok: true; result: unknown }
  | { ok: false; message: string; name?: string | undefined; code?: string | undefined };

export const DEFAULT_SYSTEM_BUS = 'unix:path=/run/dbus/system_bus_socket';

/** The system bus's address: $DBUS_SYSTEM_BUS_ADDRESS, else the standard socket (as godbus). */
export function systemBusAddress(): string {
  return process.env.DBUS_SYSTEM_BUS_ADDRESS || DEFAULT_SYSTEM_BUS;
}

/** The socket an address names, for error messages ("unix:path=/x,guid=…" → "/x"). */
export function addressSocket(address: string): string {
  return /(?:^|[,:;])(?:path|abstract)=([^,;]+)/.exec(address)?.at(1) ?? address;
}

/** dist/systemd-bus.cjs, beside the running dist/runts. */
function workerPath(): string {
  return path.join(path.dirname(fs.realpathSync(process.argv.at(1) ?? '.')), 'systemd-bus.cjs');
}

/** Long enough for systemd's own 30 s job wait in the worker. */
const CALL_TIMEOUT_MS = 40_000;

export class SystemdBus {
  private worker: Worker;
  private port: MessagePort;
  private flag = new Int32Array(new SharedArrayBuffer(4));
  /** The connect request's answer is still to be read (see the constructor). */
  private connecting = true;
  private versionNumber?: number;
  readonly address = systemBusAddress();

  constructor() {
    // A socket that is not there fails here, at once and before anything is made.
    const sock = addressSocket(this.address);
    if (sock.startsWith('/')) {
      try {
        fs.statSync(sock);
      } catch (e) {
        throw new Error(`cannot connect to the D-Bus system bus at ${sock}: ${(e as Error).message}`, {
          cause: e,
        });
      }
    }
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(workerPath(), {
      workerData: { address: this.address, port: port2, flag: this.flag },
      transferList: [port2],
      stdout: false,
      stderr: false,
    });
    this.worker.unref();
    // Connect without waiting: the worker starts and reaches the bus while
    // this thread goes on (create spawns the init meanwhile); the first
    // request reads the answer.
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ op: 'connect' } satisfies BusRequest);
  }

  /** Wait for the worker's answer to the request just posted. */
  private answer(describe: (m: string) => string): unknown {
    if (Atomics.wait(this.flag, 0, 0, CALL_TIMEOUT_MS) === 'timed-out') {
      throw new Error(describe(`no answer from systemd in ${CALL_TIMEOUT_MS / 1000} s`));
    }
    const msg = receiveMessageOnPort(this.port)?.message as BusReply | undefined;
    if (!msg) throw new Error(describe('the D-Bus worker gave no answer'));
    if (!msg.ok) throw new Error(describe(msg.message));
    return msg.result;
  }

  private request(req: BusRequest, describe: (m: string) => string = (m) => m): unknown {
    if (this.connecting) {
      this.connecting = false;
      this.answer((m) => `cannot connect to the D-Bus system bus at ${addressSocket(this.address)}: ${m}`);
    }
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage(req);
    return this.answer(describe);
  }

  /** systemd's version number (Manager.Version "252.38-1~deb12u1" → 252); -1 when unknown. */
  version(): number {
    if (this.versionNumber === undefined) {
      const m = /v?(\d+)/.exec(String(this.request({ op: 'version' })));
      this.versionNumber = m ? Number(m[1]) : -1;
    }
    return this.versionNumber;
  }

  /** StartTransientUnit, waiting for its job; an existing unit is taken as it is (as runc). */
  startUnit(unit: string, props: Property[]): void {
    const result = this.request({ op: 'start', unit, props });
    if (result === 'done' || result === 'exists') return;
    this.resetFailed(unit);
    if (result === 'timeout') throw new Error(`Timeout waiting for systemd to create ${unit}`);
    throw new Error(`error creating systemd unit \`${unit}\`: got \`${String(result)}\``);
  }

  /** StopUnit, waiting for its job; a unit that is not loaded is stopped already. Returns the job's result. */
  stopUnit(unit: string): string {
    const result = String(this.request({ op: 'stop', unit }));
    if (result === 'timeout') throw new Error(`Timed out while waiting for systemd to remove ${unit}`);
    return result;
  }

  resetFailed(unit: string): void {
    this.request({ op: 'reset-failed', unit });
  }

  setProperties(unit: string, props: Property[]): void {
    this.request({ op: 'set', unit, props }, (m) => `unable to set unit properties: ${m}`);
  }

  close(): void {
    void this.worker.terminate();
    this.port.close();
  }
}
