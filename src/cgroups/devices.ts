/**
 * Device cgroup rules: the runtime's default allow list (runc's
 * specconv.AllowedDevices) and an emulator of the v1 devices controller
 * (runc's cgroups/devices emulator). The emulator turns any ordered rule list
 * into the minimal set of writes from a cgroup's current devices.list, and
 * gives the clean rule list the v2 eBPF program is generated from.
 */
import type { DeviceRule, DeviceType } from './types.js';

export const WILDCARD = -1;

/** runc's default devices: mknod of any device, the standard nodes, /dev/pts, /dev/ptmx, tun. */
export const DEFAULT_DEVICES: Array<{ path?: string; rule: DeviceRule }> = [
  { rule: { type: 'c', major: WILDCARD, minor: WILDCARD, permissions: 'm', allow: true } },
  { rule: { type: 'b', major: WILDCARD, minor: WILDCARD, permissions: 'm', allow: true } },
  { path: '/dev/null', rule: { type: 'c', major: 1, minor: 3, permissions: 'rwm', allow: true } },
  { path: '/dev/random', rule: { type: 'c', major: 1, minor: 8, permissions: 'rwm', allow: true } },
  { path: '/dev/full', rule: { type: 'c', major: 1, minor: 7, permissions: 'rwm', allow: true } },
  { path: '/dev/tty', rule: { type: 'c', major: 5, minor: 0, permissions: 'rwm', allow: true } },
  { path: '/dev/zero', rule: { type: 'c', major: 1, minor: 5, permissions: 'rwm', allow: true } },
  { path: '/dev/urandom', rule: { type: 'c', major: 1, minor: 9, permissions: 'rwm', allow: true } },
  // /dev/pts/*
  { rule: { type: 'c', major: 136, minor: WILDCARD, permissions: 'rwm', allow: true } },
  // /dev/ptmx
  { rule: { type: 'c', major: 5, minor: 2, permissions: 'rwm', allow: true } },
  // tun/tap
  { rule: { type: 'c', major: 10, minor: 200, permissions: 'rwm', allow: true } },
];

/**
 * The default rules appended after the config's: a default whose device node
 * the config lists in linux.devices is left out (the config's takes priority).
 */
export function defaultDeviceRules(specDevicePaths: string[]): DeviceRule[] {
  const listed = new Set(specDevicePaths);
  return DEFAULT_DEVICES.filter((d) => !d.path || !listed.has(d.path)).map((d) => ({ ...d.rule }));
}

const R = 1;
const W = 2;
const M = 4;

/** The access letters of a rule as a set; other letters are ignored, as runc's Permissions.toSet does. */
export function permSet(p: string): number {
  let s = 0;
  for (const c of p) s |= c === 'r' ? R : c === 'w' ? W : c === 'm' ? M : 0;
  return s;
}

export function permString(s: number): string {
  return (s & R ? 'r' : '') + (s & W ? 'w' : '') + (s & M ? 'm' : '');
}

/** "c 1:3 rwm" as devices.allow / devices.deny want it. */
export function cgroupString(r: DeviceRule): string {
  const n = (v: number) => (v === WILDCARD ? '*' : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.permissions}`;
}

type Key = string; // "type:major:minor"
const key = (t: DeviceType, major: number, minor: number): Key => `${t}:${major}:${minor}`;
const unkey = (k: Key): [DeviceType, number, number] => {
  const [t, a, b] = k.split(':');
  return [t as DeviceType, Number(a), Number(b)];
};

export class Emulator {
  /** true: everything allowed except `rules` ("blacklist"); false: only `rules` allowed. */
  defaultAllow = false;
  rules = new Map<Key, number>();

  isBlacklist(): boolean {
    return this.defaultAllow;
  }

  isAllowAll(): boolean {
    return this.defaultAllow && this.rules.size === 0;
  }

  private addRule(k: Key, perms: number): void {
    this.rules.set(k, (this.rules.get(k) ?? 0) | perms);
  }

  private rmRule(k: Key, perms: number): void {
    const [t, major, minor] = unkey(k);
    for (const partial of [key(t, WILDCARD, minor), key(t, major, WILDCARD), key(t, WILDCARD, WILDCARD)]) {
      if (partial === k) continue;
      const pp = this.rules.get(partial) ?? 0;
      if ((pp & perms) !== 0) {
        throw new Error(
          `requested rule [${t} ${major}:${minor} ${permString(perms)}] not supported by devices cgroupv1 (cannot punch hole in existing wildcard rule [${partial} ${permString(pp)}])`,
        );
      }
    }
    const left = (this.rules.get(k) ?? 0) & ~perms;
    if (left === 0) this.rules.delete(k);
    else this.rules.set(k, left);
  }

  apply(rule: DeviceRule): void {
    if (rule.type === 'a') {
      this.defaultAllow = rule.allow;
      this.rules = new Map();
      return;
    }
    const k = key(rule.type, rule.major, rule.minor);
    const perms = permSet(rule.permissions);
    if (rule.allow) {
      if (this.defaultAllow) this.rmRule(k, perms);
      else this.addRule(k, perms);
    } else if (this.defaultAllow) this.addRule(k, perms);
    else this.rmRule(k, perms);
  }

  static fromRules(rules: DeviceRule[]): Emulator {
    const e = new Emulator();
    for (const r of rules) e.apply(r);
    return e;
  }

  /** The emulator of a cgroup's devices.list (one allow rule per line; "a *:* rwm" is allow-all). */
  static fromList(list: string): Emulator {
    const e = new Emulator();
    for (const line of list.split('\n')) {
      if (!line.trim()) continue;
      const f = line.trim().split(/[ :]+/);
      if (f.length !== 4) throw new Error(`malformed devices.list rule ${line}`);
      const [t = '', a = '', b = '', perms = ''] = f;
      if (t === 'a') {
        e.apply({ type: 'a', major: WILDCARD, minor: WILDCARD, permissions: 'rwm', allow: true });
        continue;
      }
      if (t !== 'b' && t !== 'c') throw new Error(`unknown device type ${JSON.stringify(t)}`);
      const num = (s: string) => (s === '*' ? WILDCARD : Number(s));
      e.apply({ type: t, major: num(a), minor: num(b), permissions: perms, allow: true });
    }
    return e;
  }

  private ordered(): Array<[Key, number]> {
    return [...this.rules.entries()].sort(([a], [b]) => {
      const [ta, ma, na] = unkey(a);
      const [tb, mb, nb] = unkey(b);
      return ma - mb || na - nb || ta.charCodeAt(0) - tb.charCodeAt(0);
    });
  }

  /** The writes that take a cgroup from this state to `target` (runc's Transition). */
  transition(target: Emulator): DeviceRule[] {
    const out: DeviceRule[] = [];
    let old = this.rules;
    if (this.isBlacklist() || this.defaultAllow !== target.defaultAllow) {
      out.push({
        type: 'a',
        major: WILDCARD,
        minor: WILDCARD,
        permissions: 'rwm',
        allow: target.defaultAllow,
      });
      old = new Map();
    }
    const oldOrdered = [...old.entries()].sort(([a], [b]) => {
      const [ta, ma, na] = unkey(a);
      const [tb, mb, nb] = unkey(b);
      return ma - mb || na - nb || ta.charCodeAt(0) - tb.charCodeAt(0);
    });
    for (const [k, oldPerms] of oldOrdered) {
      const dropped = oldPerms & ~(target.rules.get(k) ?? 0);
      if (dropped) {
        const [t, major, minor] = unkey(k);
        out.push({ type: t, major, minor, permissions: permString(dropped), allow: target.defaultAllow });
      }
    }
    for (const [k, newPerms] of target.ordered()) {
      const gained = newPerms & ~(old.get(k) ?? 0);
      if (gained) {
        const [t, major, minor] = unkey(k);
        out.push({ type: t, major, minor, permissions: permString(gained), allow: !target.defaultAllow });
      }
    }
    return out;
  }

  /** The clean rule list: the transition from deny-all. */
  cleanRules(): DeviceRule[] {
    return new Emulator().transition(this);
  }

  equals(o: Emulator): boolean {
    if (this.defaultAllow !== o.defaultAllow || this.rules.size !== o.rules.size) return false;
    for (const [k, v] of this.rules) if (o.rules.get(k) !== v) return false;
    return true;
  }
}
