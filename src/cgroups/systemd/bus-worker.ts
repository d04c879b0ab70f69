/**
 * The D-Bus side of the systemd driver, in a worker thread (dist/systemd-bus.cjs):
 * D-Bus is asynchronous, runts is not, so the main thread posts one request
 * and sleeps on a shared word until this thread has the answer (bus.ts).
 * Talks to systemd's manager object with @jellybrick/dbus-next.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { Message, MessageType, Variant, sessionBus, type MessageBus } from '@jellybrick/dbus-next';
import type { Property } from './unit.js';
import type { BusReply, BusRequest } from './bus.js';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const JOB_TIMEOUT_MS = 30_000;

const { address, port, flag } = workerData as { address: string; port: MessagePort; flag: Int32Array };

let bus: MessageBus | undefined;
let connectError: Error | undefined;
/** Jobs we wait for: job path → resolve(result). JobRemoved may come before the call returns. */
const waiting = new Map<string, (result: string) => void>();
const finished = new Map<string, string>();

function connect(): Promise<void> {
  return new Promise((resolve, reject) => {
    const b = sessionBus({ busAddress: address, authMethods: ['EXTERNAL'] });
    // MessageBus's typed events omit 'error', which it emits when the socket fails.
    (b as unknown as NodeJS.EventEmitter).on('error', (e: Error) => {
      connectError = e;
      reject(e);
    });
    b.on('connect', () => {
      bus = b;
      resolve();
    });
    b.on('message', (m: Message) => {
      if (m.type !== MessageType.SIGNAL || m.interface !== MANAGER || m.member !== 'JobRemoved') return;
      const [, job, , result] = m.body as [number, string, string, string];
      const w = waiting.get(job);
      if (w) w(result);
      else finished.set(job, result);
    });
  });
}

const variants = (props: Property[]) => props.map(([name, v]) => [name, new Variant(v.sig, v.value)]);

/** The connected bus (handle() connects before any call). */
function connected(): MessageBus {
  if (!bus) throw new Error('not connected to the system bus');
  return bus;
}

async function call(member: string, signature: string, body: unknown[], iface = MANAGER): Promise<unknown[]> {
  const reply = await connected().call(
    new Message({ destination: SYSTEMD, path: MANAGER_PATH, interface: iface, member, signature, body }),
  );
  return reply?.body ?? [];
}

async function addMatch(): Promise<void> {
  await connected().call(
    new Message({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'AddMatch',
      signature: 's',
      body: [
        `type='signal',sender='${SYSTEMD}',interface='${MANAGER}',member='JobRemoved',path='${MANAGER_PATH}'`,
      ],
    }),
  );
  await call('Subscribe', '', []).catch(() => {}); // already subscribed is fine
}

function waitJob(job: string): Promise<string> {
  const done = finished.get(job);
  if (done !== undefined) return Promise.resolve(done);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('timeout'), JOB_TIMEOUT_MS);
    waiting.set(job, (r) => {
      clearTimeout(t);
      waiting.delete(job);
      resolve(r);
    });
  });
}

const errName = (e: unknown) => (e as { type?: string }).type ?? '';

async function handle(req: BusRequest): Promise<unknown> {
  if (!bus) await connect();
  switch (req.op) {
    case 'connect':
      await addMatch();
      return null;
    case 'version': {
      const [v] = await call('Get', 'ss', [MANAGER, 'Version'], 'org.freedesktop.DBus.Properties');
      return String((v as Variant).value);
    }
    case 'start': {
      await addMatch();
      let job: string;
      try {
        [job] = (await call('StartTransientUnit', 'ssa(sv)a(sa(sv))', [
          req.unit,
          'replace',
          variants(req.props),
          [],
        ])) as [string];
      } catch (e) {
        if (errName(e).includes('org.freedesktop.systemd1.UnitExists')) return 'exists';
        throw e;
      }
      return waitJob(job);
    }
    case 'stop': {
      await addMatch();
      let job: string;
      try {
        [job] = (await call('StopUnit', 'ss', [req.unit, 'replace'])) as [string];
      } catch (e) {
        if (errName(e).includes('NoSuchUnit')) return 'done';
        throw e;
      }
      return waitJob(job);
    }
    case 'reset-failed':
      try {
        await call('ResetFailedUnit', 's', [req.unit]);
      } catch {}
      return null;
    case 'set':
      await call('SetUnitProperties', 'sba(sv)', [req.unit, true, variants(req.props)]);
      return null;
  }
}

port.on('message', (req: BusRequest) => {
  const answer = (r: BusReply) => {
    port.postMessage(r);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  };
  handle(req).then(
    (result) => answer({ ok: true, result }),
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      answer({
        ok: false,
        message: (connectError ?? err).message,
        name: errName(e),
        code: (err as NodeJS.ErrnoException).code,
      });
    },
  );
});
