/**
 * The systemd cgroup driver's pure logic, as runc 1.1 has it: the unit a
 * container gets from `linux.cgroupsPath` ("slice:prefix:name"), where its
 * cgroup is, and the unit properties for its resources and for the
 * `org.systemd.property.<Name>` annotations. No I/O here but /proc/devices
 * and /dev lookups for device rules (passed in, for tests).
 */
import fs from 'node:fs';
import { Emulator } from '../devices.js';
import { swapToV2 } from '../resources.js';
import type { DeviceRule, Resources } from '../types.js';

/** A D-Bus value with its signature, as the bus worker marshals it (t/x as bigint). */
export type Value = { sig: string; value: unknown };
export type Property = [name: string, value: Value];

export interface UnitPlace {
  /** The unit's name: "<prefix>-<name>.scope", or "<name>" when that is a slice. */
  unit: string;
  /** The slice it goes in ("system.slice" by default). */
  slice: string;
  /** The name part of the path (the container's ID when the path is empty): the unit's description says it. */
  name: string;
  /** The unit's cgroup, relative to the hierarchy's root ("/system.slice/docker-abc.scope"). */
  cgroup: string;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const DEFAULT_PERIOD = 100_000;

/** "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice" (runc's ExpandSlice). */
export function expandSlice(slice: string): string {
  if (!slice.endsWith('.slice') || slice.includes('/')) throw new Error(`invalid slice name: ${slice}`);
  const name = slice.slice(0, -'.slice'.length);
  if (name === '-') return '/';
  let out = '';
  let prefix = '';
  for (const part of name.split('-')) {
    if (part === '') throw new Error(`invalid slice name: ${slice}`);
    out += `/${prefix}${part}.slice`;
    prefix += `${part}-`;
  }
  return out;
}

/**
 * linux.cgroupsPath → the unit, as runc 1.1: "" is "runc-<id>.scope" in
 * system.slice (user.slice when rootless); else exactly three parts
 * "slice:prefix:name", an empty slice meaning the default one.
 */
export function unitPlace(cgroupsPath: string | undefined, id: string, rootless = false): UnitPlace {
  let slice = '';
  let prefix = 'runc';
  let name = id;
  if (cgroupsPath) {
    const parts = cgroupsPath.split(':');
    if (parts.length !== 3) {
      throw new Error(
        `expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cgroupsPath)} instead`,
      );
    }
    [slice = '', prefix = '', name = ''] = parts;
  }
  if (!slice) slice = rootless ? 'user.slice' : 'system.slice';
  const unit = name.endsWith('.slice') ? name : `${prefix}-${name}.scope`;
  const parent = expandSlice(slice);
  return { unit, slice, name, cgroup: (parent === '/' ? '' : parent) + '/' + unit };
}

const prop = (name: string, sig: string, value: unknown): Property => [name, { sig, value }];
const u64 = (n: number | bigint) => BigInt(n);

/** The properties of a new unit: what runc's Apply sends, before the resources. */
export function unitProperties(place: UnitPlace, pid: number): Property[] {
  const props: Property[] = [prop('Description', 's', `libcontainer container ${place.name}`)];
  if (place.unit.endsWith('.slice')) {
    props.push(prop('Wants', 'as', [place.slice]));
  } else {
    props.push(prop('Slice', 's', place.slice), prop('Delegate', 'b', true));
  }
  if (pid !== -1) props.push(prop('PIDs', 'au', [pid]));
  props.push(
    prop('MemoryAccounting', 'b', true),
    prop('CPUAccounting', 'b', true),
    prop('IOAccounting', 'b', true),
    prop('TasksAccounting', 'b', true),
    prop('DefaultDependencies', 'b', false),
  );
  return props;
}

/** The systemd features a property needs (runc asks the manager's Version). */
export interface SystemdInfo {
  version: number;
}

/** "0-2,7" → the bitmask systemd takes for AllowedCPUs (byte 0 = CPUs 0..7), as runc's RangeToBits. */
export function rangeToBits(list: string): number[] {
  let bits = 0n;
  for (const r of list.split(',')) {
    const part = r.trim();
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`invalid range ${JSON.stringify(part)}`);
    const lo = Number(m.at(1));
    const last = m.at(2);
    const hi = last === undefined ? lo : Number(last);
    if (hi < lo) throw new Error(`invalid range ${JSON.stringify(part)}`);
    for (let i = lo; i <= hi; i++) bits |= 1n << BigInt(i);
  }
  const out: number[] = [];
  while (bits > 0n) {
    out.push(Number(bits & 0xffn));
    bits >>= 8n;
  }
  if (out.length === 0) out.push(0);
  return out;
}

function cpuQuotaProps(props: Property[], quota: number, period: number, info: SystemdInfo): void {
  if (period !== 0 && info.version >= 242) props.push(prop('CPUQuotaPeriodUSec', 't', u64(period)));
  if (quota === 0 && period === 0) return;
  let perSec = U64_MAX;
  if (quota > 0) {
    const p = BigInt(period || DEFAULT_PERIOD);
    perSec = (BigInt(quota) * 1_000_000n) / p;
    // systemd rounds to 1% of a CPU: round up, never give less than asked.
    if (perSec % 10_000n !== 0n) perSec = (perSec / 10_000n + 1n) * 10_000n;
  }
  props.push(prop('CPUQuotaPerSecUSec', 't', perSec));
}

function cpusetProps(props: Property[], cpus: string, mems: string, info: SystemdInfo): void {
  if ((!cpus && !mems) || info.version < 244) return;
  if (cpus) props.push(prop('AllowedCPUs', 'ay', rangeToBits(cpus)));
  if (mems) props.push(prop('AllowedMemoryNodes', 'ay', rangeToBits(mems)));
}

export interface DeviceLookup {
  /** /proc/devices' text. */
  procDevices(): string;
  exists(path: string): boolean;
}

const hostDevices: DeviceLookup = {
  procDevices: () => fs.readFileSync('/proc/devices', 'utf8'),
  exists: (p) => fs.existsSync(p),
};

/** "char-pts" for (c, 136) from /proc/devices, or "" when the major is not listed. */
function deviceGroup(type: 'b' | 'c', major: number, text: string): string {
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === 'Character devices:') current = 'c';
    else if (line === 'Block devices:') current = 'b';
    else if (line && current === type) {
      const [m, name] = line.split(/\s+/);
      if (Number(m) === major) return `${type === 'c' ? 'char' : 'block'}-${name}`;
    }
  }
  return '';
}

/** Device rules → DevicePolicy/DeviceAllow, as runc's generateDeviceProperties (warnings go to `warn`). */
export function deviceProperties(
  rules: DeviceRule[],
  warn: (m: string) => void = () => {},
  look: DeviceLookup = hostDevices,
): Property[] {
  const emu = new Emulator();
  for (const r of rules) emu.apply(r);
  if (emu.isBlacklist()) {
    if (emu.isAllowAll()) return [prop('DevicePolicy', 's', 'auto'), prop('DeviceAllow', 'a(ss)', [])];
    warn("systemd doesn't support blacklist device rules -- applying temporary deny-all rule");
    return [prop('DevicePolicy', 's', 'strict'), prop('DeviceAllow', 'a(ss)', [])];
  }
  const allow: Array<[string, string]> = [];
  for (const r of emu.cleanRules()) {
    if (r.type !== 'b' && r.type !== 'c') throw new Error(`invalid device type for DeviceAllow: ${r.type}`);
    let p: string;
    if (r.major === -1) {
      if (r.minor !== -1) {
        warn(
          `systemd doesn't support '*:n' device rules -- temporarily ignoring rule ${r.type} *:${r.minor}`,
        );
        continue;
      }
      p = `${r.type === 'c' ? 'char' : 'block'}-*`;
    } else if (r.minor === -1) {
      p = deviceGroup(r.type, r.major, look.procDevices());
      if (!p) {
        warn(
          `could not find device group for '${r.type}/${r.major}' in /proc/devices -- temporarily ignoring rule`,
        );
        continue;
      }
    } else {
      p = `/dev/${r.type === 'c' ? 'char' : 'block'}/${r.major}:${r.minor}`;
      if (!look.exists(p) && !look.exists('/sys' + p)) {
        warn(`skipping device ${p} for systemd: not found`);
        continue;
      }
    }
    allow.push([p, r.permissions]);
  }
  return [
    prop('DevicePolicy', 's', 'strict'),
    prop('DeviceAllow', 'a(ss)', []),
    prop('DeviceAllow', 'a(ss)', allow),
  ];
}

const MEMORY_V2: Record<string, string> = {
  'memory.high': 'MemoryHigh',
  'memory.low': 'MemoryLow',
  'memory.min': 'MemoryMin',
  'memory.max': 'MemoryMax',
  'memory.swap.max': 'MemorySwapMax',
};

function parseU64(k: string, v: string): bigint {
  if (!/^\d+$/.test(v))
    throw new Error(`unified resource ${JSON.stringify(k)} value conversion error: ${JSON.stringify(v)}`);
  return BigInt(v);
}

/** linux.resources.unified entries systemd knows → properties (the rest only go to the files). */
function unifiedProps(props: Property[], unified: Record<string, string>, info: SystemdInfo): void {
  for (const [k, raw] of Object.entries(unified)) {
    if (k.includes('/'))
      throw new Error(`unified resource ${JSON.stringify(k)} must be a file name (no slashes)`);
    if (k.split('.').length < 2)
      throw new Error(`unified resource ${JSON.stringify(k)} must be in the form CONTROLLER.PARAMETER`);
    const v = raw.trim();
    if (k === 'cpu.max') {
      const f = v.split(/\s+/);
      if (f.length > 2)
        throw new Error(`unified resource ${JSON.stringify(k)} value invalid: ${JSON.stringify(v)}`);
      const [quotaText = ''] = f;
      const periodText = f.at(1);
      const quota = quotaText === 'max' ? 0 : Number(parseU64(k, quotaText));
      const period = periodText !== undefined ? Number(parseU64(k, periodText)) : DEFAULT_PERIOD;
      cpuQuotaProps(props, quota, period, info);
    } else if (k === 'cpu.weight') {
      props.push(prop('CPUWeight', 't', parseU64(k, v)));
    } else if (k === 'cpuset.cpus' || k === 'cpuset.mems') {
      if (info.version >= 244)
        props.push(prop(k === 'cpuset.cpus' ? 'AllowedCPUs' : 'AllowedMemoryNodes', 'ay', rangeToBits(v)));
    } else if (MEMORY_V2[k]) {
      props.push(prop(MEMORY_V2[k], 't', v === 'max' ? U64_MAX : parseU64(k, v)));
    } else if (k === 'pids.max') {
      props.push(prop('TasksMax', 't', v === 'max' ? U64_MAX : parseU64(k, v)));
    }
  }
}

/** -1 ("unlimited") as systemd's infinity. */
const limit = (n: number) => (n === -1 ? U64_MAX : u64(n));

/** Resources → unit properties on a unified (v2) host (runc's genV2ResourcesProperties). */
export function v2ResourceProperties(
  r: Resources,
  info: SystemdInfo,
  warn?: (m: string) => void,
  look?: DeviceLookup,
): Property[] {
  const props = r.skipDevices ? [] : deviceProperties(r.devices, warn, look);
  if (r.memory !== 0) props.push(prop('MemoryMax', 't', limit(r.memory)));
  if (r.memoryReservation !== 0) props.push(prop('MemoryLow', 't', limit(r.memoryReservation)));
  const swap = swapToV2(r.memorySwap, r.memory);
  if (swap !== 0) props.push(prop('MemorySwapMax', 't', limit(swap)));
  if (r.cpuWeight !== 0) props.push(prop('CPUWeight', 't', u64(r.cpuWeight)));
  cpuQuotaProps(props, r.cpuQuota, r.cpuPeriod, info);
  if (r.pidsLimit > 0 || r.pidsLimit === -1) props.push(prop('TasksMax', 't', limit(r.pidsLimit)));
  cpusetProps(props, r.cpusetCpus, r.cpusetMems, info);
  if (r.unified) unifiedProps(props, r.unified, info);
  return props;
}

/** Resources → unit properties on a legacy or hybrid (v1) host (runc's genV1ResourcesProperties). */
export function v1ResourceProperties(
  r: Resources,
  info: SystemdInfo,
  warn?: (m: string) => void,
  look?: DeviceLookup,
): Property[] {
  const props = r.skipDevices ? [] : deviceProperties(r.devices, warn, look);
  if (r.memory !== 0) props.push(prop('MemoryLimit', 't', limit(r.memory)));
  if (r.cpuShares !== 0) props.push(prop('CPUShares', 't', u64(r.cpuShares)));
  cpuQuotaProps(props, r.cpuQuota, r.cpuPeriod, info);
  if (r.blkioWeight !== 0) props.push(prop('BlockIOWeight', 't', u64(r.blkioWeight)));
  if (r.pidsLimit > 0 || r.pidsLimit === -1) props.push(prop('TasksMax', 't', limit(r.pidsLimit)));
  cpusetProps(props, r.cpusetCpus, r.cpusetMems, info);
  return props;
}

// ---- org.systemd.property.<Name> annotations ----

const ANNOTATION_PREFIX = 'org.systemd.property.';

const TYPE_WORDS: Readonly<Partial<Record<string, string>>> = {
  boolean: 'b',
  byte: 'y',
  int16: 'n',
  uint16: 'q',
  int32: 'i',
  uint32: 'u',
  int64: 'x',
  uint64: 't',
  double: 'd',
  string: 's',
  objectpath: 'o',
  signature: 'g',
};
const INT_RANGE: Readonly<Partial<Record<string, [bigint, bigint]>>> = {
  y: [0n, 255n],
  n: [-32768n, 32767n],
  q: [0n, 65535n],
  i: [-(2n ** 31n), 2n ** 31n - 1n],
  u: [0n, 2n ** 32n - 1n],
  x: [-(2n ** 63n), 2n ** 63n - 1n],
  t: [0n, U64_MAX],
};

/**
 * A value in the GVariant text format runc's annotations use (godbus's
 * ParseVariant): true/false, numbers (bare integers are int32, with a
 * point doubles), a type word or @sig before a value ("uint64 5", "@t 5"),
 * quoted strings, and [arrays] of one type.
 */
export function parseVariant(text: string): Value {
  const p = new VariantParser(text);
  const v = p.value(undefined);
  p.skip();
  if (!p.done()) throw new Error(`unexpected ${JSON.stringify(text.slice(p.pos))}`);
  return v;
}

class VariantParser {
  pos = 0;
  constructor(private s: string) {}
  done() {
    return this.pos >= this.s.length;
  }
  skip() {
    while (!this.done() && /\s/.test(this.s.charAt(this.pos))) this.pos++;
  }
  word(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.pos));
    return m ? m[0] : '';
  }
  value(want: string | undefined): Value {
    this.skip();
    const w = this.word();
    const typeWord = w ? TYPE_WORDS[w] : undefined;
    if (typeWord) {
      this.pos += w.length;
      return this.value(typeWord);
    }
    const typed = /^@(\S+)/.exec(this.s.slice(this.pos));
    if (typed) {
      this.pos += typed[0].length;
      return this.value(typed.at(1));
    }
    const c = this.s[this.pos];
    if (c === '[') return this.array(want);
    if (c === "'" || c === '"') return this.string(want);
    if (w === 'true' || w === 'false') {
      this.pos += w.length;
      if (want && want !== 'b') throw new Error(`${w} is not of type ${want}`);
      return { sig: 'b', value: w === 'true' };
    }
    const m = /^[-+]?(\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+)/.exec(this.s.slice(this.pos));
    if (!m) throw new Error(`cannot parse ${JSON.stringify(this.s.slice(this.pos))}`);
    this.pos += m[0].length;
    const isFloat = /[.eE]/.test(m[0]);
    const sig = want ?? (isFloat ? 'd' : 'i');
    if (sig === 'd') return { sig, value: Number(m[0]) };
    const range = INT_RANGE[sig];
    if (isFloat || !range) throw new Error(`${m[0]} is not of type ${sig}`);
    const n = BigInt(m[0]);
    const [lo, hi] = range;
    if (n < lo || n > hi) throw new Error(`${m[0]} is out of range for type ${sig}`);
    return { sig, value: sig === 'x' || sig === 't' ? n : Number(n) };
  }
  string(want: string | undefined): Value {
    const q = this.s[this.pos++];
    let out = '';
    while (!this.done() && this.s[this.pos] !== q) {
      if (this.s[this.pos] === '\\') this.pos++;
      out += this.s[this.pos++] ?? '';
    }
    if (this.done()) throw new Error('unterminated string');
    this.pos++;
    const sig = want ?? 's';
    if (sig !== 's' && sig !== 'o' && sig !== 'g') throw new Error(`a string is not of type ${sig}`);
    return { sig, value: out };
  }
  array(want: string | undefined): Value {
    if (want !== undefined && !want.startsWith('a')) throw new Error(`an array is not of type ${want}`);
    this.pos++;
    let elem = want?.slice(1);
    const items: unknown[] = [];
    for (;;) {
      this.skip();
      if (this.s[this.pos] === ']') {
        this.pos++;
        break;
      }
      if (items.length > 0) {
        if (this.s[this.pos] !== ',') throw new Error('expected , in array');
        this.pos++;
      }
      const v = this.value(elem);
      if (elem === undefined) elem = v.sig;
      else if (v.sig !== elem) throw new Error(`array of mixed types ${elem} and ${v.sig}`);
      items.push(v.value);
    }
    if (elem === undefined) throw new Error('cannot infer the type of an empty array (use @as [])');
    return { sig: 'a' + elem, value: items };
  }
}

/** "TimeoutStopSec" with a number → "TimeoutStopUSec" in microseconds, as runc. */
function secToUSec(name: string, v: Value): [string, Value] {
  if (!name.endsWith('Sec')) return [name, v];
  const trimmed = name.slice(0, -3);
  const last = trimmed.charAt(trimmed.length - 1);
  if (!(last >= 'a' && last <= 'z')) return [name, v];
  if (!'ynqiuxtd'.includes(v.sig) || v.sig.length !== 1) throw new Error('not a number');
  const n = v.value as number | bigint;
  const us = v.sig === 'd' ? BigInt(Math.trunc((n as number) * 1_000_000)) : BigInt(n) * 1_000_000n;
  return [trimmed + 'USec', { sig: 't', value: us }];
}

/** `org.systemd.property.<Name>` annotations → properties (runc's initSystemdProps). */
export function annotationProperties(annotations: Record<string, string> | undefined): Property[] {
  const props: Property[] = [];
  for (const [k, text] of Object.entries(annotations ?? {})) {
    if (!k.startsWith(ANNOTATION_PREFIX)) continue;
    const name = k.slice(ANNOTATION_PREFIX.length);
    if (name.length < 3) throw new Error(`annotation ${k} name incorrect: too short`);
    if (!/^[A-Za-z]+$/.test(name))
      throw new Error(`annotation ${k} name incorrect: contains non-alphabetic character`);
    let v: Value;
    try {
      v = parseVariant(text);
    } catch (e) {
      throw new Error(`annotation ${k}=${text} value parse error: ${(e as Error).message}`, { cause: e });
    }
    try {
      props.push(secToUSec(name, v));
    } catch (e) {
      throw new Error(`annotation ${k}=${text} value parse error: ${(e as Error).message}`, { cause: e });
    }
  }
  return props;
}
