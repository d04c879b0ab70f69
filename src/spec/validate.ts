// Validation of config.json: the generated schema validator plus the checks a JSON Schema
// cannot express (uniqueness, cross-field rules, runc's own refusals). Every problem is
// reported, each as `<json path>: <sentence>`, so a user fixes a config in one round.

import { patternMessages, validateConfig, type ValidationError } from './validators.gen.js';

export interface ConfigIssue {
  /** Dotted JSON path, e.g. `linux.resources.memory.limit`, `mounts[2].destination`. */
  path: string;
  message: string;
}

/** One step of a JSON path: an object key or an array index. */
export type PathSegment = string | number;
type Segment = PathSegment;
interface RawIssue {
  path: Segment[];
  message: string;
}

/**
 * Every problem with a parsed config.json; empty when it is usable. `sources` gives, by
 * formatted path, the literal text of numbers a double cannot show (1e400, 2^64), for messages.
 */
export function checkConfig(raw: unknown, sources?: ReadonlyMap<string, string>): ConfigIssue[] {
  const schema = validateConfig(raw) ? [] : schemaIssues(validateConfig.errors ?? [], raw, sources);
  // Semantic checks only look at subtrees the schema accepted, so a value of the wrong type
  // yields one clear message instead of a cascade.
  const clean = (path: Segment[]) => !schema.some((e) => overlaps(e.path, path));
  const semantic = semanticIssues(raw, clean).filter((s) => clean(s.path));
  return finish([...schema, ...semantic], raw);
}

/**
 * An error text for a list of issues whose first line alone says what is wrong (clients such
 * as containerd keep one line): `<title>: <path>: <message>` for one issue, else
 * `<title>: N problems; first: <path>: <message>` followed by every issue, one per line.
 */
export function describeIssues(title: string, issues: readonly ConfigIssue[]): string {
  const line = (i: ConfigIssue) => `${i.path}: ${i.message}`;
  const [first] = issues;
  if (first === undefined) return title;
  if (issues.length === 1) return `${title}: ${line(first)}`;
  return `${title}: ${issues.length} problems; first: ${line(first)}\n${issues.map((i) => `  ${line(i)}`).join('\n')}`;
}

/** Words ajv errors as issues; usable with any generated validator (features, state, ...). */
export function describeSchemaErrors(errors: readonly ValidationError[], data: unknown): ConfigIssue[] {
  return finish(schemaIssues(errors, data), data);
}

/** `linux.sysctl["net.ipv4.ip_forward"]`, `mounts[2].destination`, `(root)` for the document. */
export function formatPath(path: readonly Segment[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** De-duplicates and sorts into document order, so the list reads top to bottom. */
function finish(issues: RawIssue[], data: unknown): ConfigIssue[] {
  const compare = documentOrder(data);
  const sorted = issues.map((i, n) => ({ i, n })).sort((a, b) => compare(a.i.path, b.i.path) || a.n - b.n);
  const seen = new Set<string>();
  const out: ConfigIssue[] = [];
  for (const { i } of sorted) {
    const issue = { path: formatPath(i.path), message: i.message };
    const key = `${issue.path}\0${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(issue);
    }
  }
  return out;
}

/**
 * Compares two paths by where they are in the document (depth-first, keys in their order).
 * Only the objects on the paths compared are looked at, so sorting costs nothing like a walk
 * of a large document. A missing property sorts right after its parent.
 */
function documentOrder(data: unknown): (a: readonly Segment[], b: readonly Segment[]) => number {
  const keyIndex = new Map<object, Map<string, number>>();
  const indexOf = (node: unknown, key: Segment): number => {
    if (typeof key === 'number') return key;
    if (!isObject(node)) return -1;
    let keys = keyIndex.get(node);
    if (!keys) keyIndex.set(node, (keys = new Map(Object.keys(node).map((k, i) => [k, i]))));
    return keys.get(key) ?? -1;
  };
  return (a, b) => {
    let node: unknown = data;
    const n = Math.min(a.length, b.length);
    for (let d = 0; d < n; d++) {
      const ka = a[d] ?? '';
      const kb = b[d] ?? '';
      if (ka !== kb) return indexOf(node, ka) - indexOf(node, kb);
      node = (node as Record<string | number, unknown> | undefined)?.[ka];
    }
    return a.length - b.length;
  };
}

/** True when one path is a prefix of the other (same node, ancestor or descendant). */
function overlaps(a: readonly Segment[], b: readonly Segment[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// ajv errors → issues

/** Turns a JSON pointer into segments, numbering only where the data really is an array. */
function pointerToPath(pointer: string, data: unknown): Segment[] {
  if (pointer === '') return [];
  const out: Segment[] = [];
  let node: unknown = data;
  for (const part of pointer.slice(1).split('/')) {
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) {
      out.push(Number(key));
      node = node[Number(key)];
    } else {
      out.push(key);
      node = isObject(node) ? node[key] : undefined;
    }
  }
  return out;
}

const INT64_MAX = 2 ** 63;
const UINT64_MAX = 2 ** 64;

/** Bounds as written in the schema: 2^63 and 2^64 are how JSON numbers hold int64/uint64 max. */
function bound(n: number): string {
  if (n === INT64_MAX) return '9223372036854775807';
  if (n === UINT64_MAX) return '18446744073709551615';
  return String(n);
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describeType(types: string): string {
  const words = types.split(',').map((t) => article(t.trim()));
  return words.length === 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** A short rendering of the offending value, to show next to a type error. */
function shown(value: unknown, source?: string): string {
  if (source !== undefined) return source.length > 40 ? `${source.slice(0, 37)}...` : source;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const text = (JSON.stringify(value) as string | undefined) ?? typeof value;
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function valueAt(data: unknown, path: readonly Segment[]): unknown {
  let node = data;
  for (const seg of path) node = (node as Record<string | number, unknown> | undefined)?.[seg];
  return node;
}

function sentence(e: ValidationError, value: unknown, source?: string): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'type':
      return `must be ${describeType(String(p.type))} (got ${shown(value, source)})`;
    case 'enum':
      return `must be one of: ${(p.allowedValues as unknown[]).map((v) => (v === '' ? '""' : String(v))).join(', ')}`;
    case 'minimum': {
      const limit = Number(p.limit);
      if (limit === 0) return 'must not be negative';
      if (limit === -1) return 'must be -1 (unlimited) or a non-negative number';
      return `must be at least ${bound(limit)}`;
    }
    case 'maximum':
      return `must be at most ${bound(Number(p.limit))}`;
    case 'exclusiveMinimum':
      return `must be greater than ${bound(Number(p.limit))}`;
    case 'exclusiveMaximum':
      return `must be less than ${bound(Number(p.limit))}`;
    case 'minItems':
      return Number(p.limit) === 1 ? 'must not be empty' : `must have at least ${Number(p.limit)} entries`;
    case 'maxItems':
      return `must have at most ${Number(p.limit)} entries`;
    case 'minLength':
      return Number(p.limit) === 1
        ? 'must not be empty'
        : `must be at least ${Number(p.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${Number(p.limit)} characters long`;
    case 'additionalProperties':
      return 'is not allowed';
    case 'pattern':
      return patternMessages[String(p.pattern)] ?? `must match the pattern ${String(p.pattern)}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'uniqueItems':
      return `must not repeat entries (entries ${Number(p.j)} and ${Number(p.i)} are equal)`;
    default:
      return `fails the "${e.keyword}" rule ${JSON.stringify(p)}`;
  }
}

function schemaIssues(
  errors: readonly ValidationError[],
  data: unknown,
  sources?: ReadonlyMap<string, string>,
): RawIssue[] {
  const sourceAt = (path: Segment[]) => sources?.get(formatPath(path));
  // allErrors makes anyOf/oneOf report every failed branch. A branch that merely had the
  // wrong type says nothing useful on its own, so fold those into one "must be X or Y", and
  // keep only the deeper errors of branches that did match the type.
  const combinators = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const branchOf = (e: ValidationError) =>
    combinators.find(
      (c) => c !== e && e.schemaPath.startsWith(`${c.schemaPath}/`) && e.instancePath === c.instancePath,
    );
  const foldedTypes = new Map<ValidationError, string[]>();
  const hidden = new Set<ValidationError>();
  for (const e of errors) {
    const c = e.keyword === 'type' ? branchOf(e) : undefined;
    if (!c) continue;
    hidden.add(e);
    foldedTypes.set(c, [...(foldedTypes.get(c) ?? []), String((e.params as { type: unknown }).type)]);
  }

  const issues: RawIssue[] = [];
  for (const e of errors) {
    // `if` only says "then failed"; the `then` errors themselves are reported.
    if (hidden.has(e) || e.keyword === 'if') continue;
    let path = pointerToPath(e.instancePath, data);
    if (e.keyword === 'required')
      path = [...path, String((e.params as { missingProperty: unknown }).missingProperty)];
    if (e.keyword === 'additionalProperties') {
      path = [...path, String((e.params as { additionalProperty: unknown }).additionalProperty)];
    }
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      const deeper = errors.some(
        (x) => !hidden.has(x) && x !== e && x.schemaPath.startsWith(`${e.schemaPath}/`),
      );
      if (deeper) continue;
      const types = foldedTypes.get(e);
      issues.push({
        path,
        message: types
          ? `must be ${describeType([...new Set(types)].join(','))} (got ${shown(valueAt(data, path), sourceAt(path))})`
          : e.keyword === 'oneOf'
            ? 'must match exactly one of the allowed forms'
            : 'does not match any of the allowed forms',
      });
      continue;
    }
    issues.push({ path, message: sentence(e, valueAt(data, path), sourceAt(path)) });
  }
  return issues;
}

// ---------------------------------------------------------------------------------------
// Semantic checks. They read the raw document defensively: the schema may have failed
// elsewhere, and whatever overlaps a schema error is dropped by checkConfig.

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
const obj = (v: unknown): Obj | undefined => (isObject(v) ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
/** An integer as config.json holds it: a number, or a bigint beyond 2^53 (src/json.ts). */
const isInteger = (v: unknown): v is number | bigint => Number.isInteger(v) || typeof v === 'bigint';

const RLIMITS = new Set([
  'RLIMIT_AS',
  'RLIMIT_CORE',
  'RLIMIT_CPU',
  'RLIMIT_DATA',
  'RLIMIT_FSIZE',
  'RLIMIT_LOCKS',
  'RLIMIT_MEMLOCK',
  'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE',
  'RLIMIT_NOFILE',
  'RLIMIT_NPROC',
  'RLIMIT_RSS',
  'RLIMIT_RTPRIO',
  'RLIMIT_RTTIME',
  'RLIMIT_SIGPENDING',
  'RLIMIT_STACK',
]);
const CAPABILITY_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;
const HOOK_KINDS = [
  'prestart',
  'createRuntime',
  'createContainer',
  'startContainer',
  'poststart',
  'poststop',
] as const;
const TIME_CLOCKS = new Set(['monotonic', 'boottime']);
// sysctls that the ipc namespace isolates (runc's list).
const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

function semanticIssues(raw: unknown, clean: (path: Segment[]) => boolean): RawIssue[] {
  const issues: RawIssue[] = [];
  const add = (path: Segment[], message: string) => issues.push({ path, message });
  const config = obj(raw);
  if (!config) return issues;

  const linux = obj(config.linux);
  // Namespaces first: several rules depend on which ones the container gets.
  const namespaces = new Map<string, { index: number; path?: string | undefined }>();
  arr(linux?.namespaces).forEach((ns, i) => {
    const type = str(obj(ns)?.type);
    if (type === undefined) return;
    const first = namespaces.get(type);
    if (first)
      add(
        ['linux', 'namespaces', i, 'type'],
        `duplicates linux.namespaces[${first.index}] (each type may appear once)`,
      );
    else namespaces.set(type, { index: i, path: str(obj(ns)?.path) || undefined });
    const nsPath = str(obj(ns)?.path);
    if (nsPath && !nsPath.startsWith('/'))
      add(['linux', 'namespaces', i, 'path'], 'must be an absolute path');
  });
  const hasNs = (type: string) => namespaces.has(type);
  // Rules that depend on the namespace list are only trusted when the list itself is valid.
  const nsKnown = clean(['linux', 'namespaces']);
  const lacksNs = (type: string) => nsKnown && !hasNs(type);

  checkRoot(config, add);
  checkProcess(config, add);
  checkMounts(config, add);
  checkHooks(config, add);
  checkAnnotations(config, add);
  if (typeof config.hostname === 'string' && config.hostname !== '' && lacksNs('uts')) {
    add(['hostname'], 'cannot be set without a uts namespace in linux.namespaces');
  }
  if (typeof config.domainname === 'string' && config.domainname !== '' && lacksNs('uts')) {
    add(['domainname'], 'cannot be set without a uts namespace in linux.namespaces');
  }
  checkNulBytes(config, add);
  if (!linux) return issues;

  // User namespace and id mappings (runc: libcontainer/configs/validate).
  const userNs = namespaces.get('user');
  for (const key of ['uidMappings', 'gidMappings'] as const) {
    if (!nsKnown) break;
    const present = Array.isArray(linux[key]) && (linux[key] as unknown[]).length > 0;
    if (present && !userNs) add(['linux', key], 'requires a user namespace in linux.namespaces');
    // A new user namespace needs both maps. (Joining one by path along with mappings is
    // accepted: containerd and CRI-O send both, and only the runtime can compare them.)
    if (!present && userNs && !userNs.path)
      add(['linux', key], 'is required when creating a new user namespace');
  }

  for (const key of ['uidMappings', 'gidMappings'] as const) checkIdMappings(linux[key], ['linux', key], add);

  // Time namespace offsets.
  const timeOffsets = obj(linux.timeOffsets);
  if (timeOffsets) {
    const timeNs = namespaces.get('time');
    if (lacksNs('time')) add(['linux', 'timeOffsets'], 'requires a time namespace in linux.namespaces');
    else if (timeNs?.path)
      add(
        ['linux', 'timeOffsets'],
        `cannot be set when joining an existing time namespace (linux.namespaces[${timeNs.index}].path)`,
      );
    for (const [clock, offset] of Object.entries(timeOffsets)) {
      if (!TIME_CLOCKS.has(clock))
        add(['linux', 'timeOffsets', clock], 'must be keyed by a clock name: monotonic or boottime');
      const ns = num(obj(offset)?.nanosecs);
      if (ns !== undefined && ns >= 1e9)
        add(['linux', 'timeOffsets', clock, 'nanosecs'], 'must be less than 1000000000');
    }
  }

  for (const key of ['maskedPaths', 'readonlyPaths'] as const) {
    const list = arr(linux[key]);
    list.forEach((p, i) => {
      if (typeof p === 'string' && !p.startsWith('/')) add(['linux', key, i], 'must be an absolute path');
    });
    if (list.length > 0 && lacksNs('mount'))
      add(['linux', key], 'requires a mount namespace in linux.namespaces');
  }

  arr(linux.devices).forEach((d, i) => {
    const dev = obj(d);
    if (!dev) return;
    const p = str(dev.path);
    if (p !== undefined && !p.startsWith('/'))
      add(['linux', 'devices', i, 'path'], 'must be an absolute path');
    // Without a type the schema already says so; major/minor depend on it.
    if (typeof dev.type === 'string' && dev.type !== 'p') {
      for (const k of ['major', 'minor'] as const) {
        if (dev[k] === undefined)
          add(['linux', 'devices', i, k], `is required for device type ${JSON.stringify(dev.type)}`);
      }
    }
  });

  checkSysctl(linux, lacksNs, add);
  checkResources(obj(linux.resources), add);
  checkSeccomp(obj(linux.seccomp), add);

  const closID = str(obj(linux.intelRdt)?.closID);
  if (closID !== undefined && (closID === '.' || closID === '..' || closID.includes('/'))) {
    add(['linux', 'intelRdt', 'closID'], 'must be a plain directory name (no "/", not "." or "..")');
  }

  const policy = obj(linux.memoryPolicy);
  const mode = str(policy?.mode);
  if (policy && mode) {
    const nodes = str(policy.nodes) ?? '';
    if ((mode === 'MPOL_DEFAULT' || mode === 'MPOL_LOCAL') && nodes !== '') {
      add(['linux', 'memoryPolicy', 'nodes'], `must be empty with mode ${mode}`);
    }
    if (
      ['MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED_MANY'].includes(mode) &&
      nodes === ''
    ) {
      add(['linux', 'memoryPolicy', 'nodes'], `is required with mode ${mode}`);
    }
  }
  return issues;
}

type Add = (path: Segment[], message: string) => void;

/**
 * Strings that become C strings (paths, argv, labels) cannot hold a NUL: the kernel would
 * see them cut short, and Node refuses them with an internal message. (mounts, env and cwd
 * are checked with the rest of their object.)
 */
function checkNulBytes(config: Obj, add: Add): void {
  const check = (path: Segment[], v: unknown) => {
    if (typeof v === 'string' && v.includes('\0')) add(path, 'must not contain a NUL byte');
  };
  const linux = obj(config.linux);
  const proc = obj(config.process);
  check(['root', 'path'], obj(config.root)?.path);
  for (const k of ['hostname', 'domainname'] as const) check([k], config[k]);
  arr(proc?.args).forEach((a, i) => check(['process', 'args', i], a));
  for (const k of ['apparmorProfile', 'selinuxLabel'] as const) check(['process', k], proc?.[k]);
  for (const k of ['cgroupsPath', 'mountLabel'] as const) check(['linux', k], linux?.[k]);
  check(['linux', 'seccomp', 'listenerPath'], obj(linux?.seccomp)?.listenerPath);
  for (const k of ['namespaces', 'devices'] as const)
    arr(linux?.[k]).forEach((e, i) => check(['linux', k, i, 'path'], obj(e)?.path));
  for (const k of ['maskedPaths', 'readonlyPaths'] as const)
    arr(linux?.[k]).forEach((p, i) => check(['linux', k, i], p));
  const hooks = obj(config.hooks);
  for (const kind of HOOK_KINDS) {
    arr(hooks?.[kind]).forEach((h, i) => {
      check(['hooks', kind, i, 'path'], obj(h)?.path);
      for (const k of ['args', 'env'] as const)
        arr(obj(h)?.[k]).forEach((a, j) => check(['hooks', kind, i, k, j], a));
    });
  }
}

function checkRoot(config: Obj, add: Add): void {
  // Optional in the spec (Windows Hyper-V has none), required on Linux.
  if (config.root === undefined) add(['root'], 'is required');
  else if (obj(config.root)?.path === '') add(['root', 'path'], 'must not be empty');
}

function checkProcess(config: Obj, add: Add): void {
  // runc refuses a config without a process even for `create`.
  if (config.process === undefined) {
    add(['process'], 'is required');
    return;
  }
  const proc = obj(config.process);
  if (!proc) return;
  checkProcessFields(proc, (path, message) => add(['process', ...path], message));
}

/**
 * Checks of a process object that the schema cannot express, with paths relative to it:
 * config.json's `process`, and `runts exec`'s process (process.json or flags).
 */
export function processIssues(proc: unknown): ConfigIssue[] {
  const issues: RawIssue[] = [];
  if (isObject(proc)) checkProcessFields(proc, (path, message) => issues.push({ path, message }));
  return issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

// runc (libcontainer/user) refuses ids above int32's range: setresuid(-1) would mean "unchanged".
const MAX_ID = 2147483647;
const ID_RANGE = `uids and gids must be in range 0-${MAX_ID}`;
// The kernel's NGROUPS_MAX: setgroups(2) fails with EINVAL beyond it.
const NGROUPS_MAX = 65536;

function checkProcessFields(proc: Obj, add: Add): void {
  const cwd = str(proc.cwd);
  if (cwd !== undefined && !cwd.startsWith('/')) add(['cwd'], 'must be an absolute path');
  else if (cwd?.includes('\0')) add(['cwd'], 'must not contain a NUL byte');

  const user = obj(proc.user);
  for (const k of ['uid', 'gid'] as const) {
    const id = user?.[k];
    if (isInteger(id) && id > MAX_ID) add(['user', k], `${ID_RANGE} (got ${id})`);
  }
  const groups = arr(user?.additionalGids);
  if (groups.length > NGROUPS_MAX) {
    // One line, not one per gid: the kernel refuses the list as a whole.
    add(
      ['user', 'additionalGids'],
      `must have at most ${NGROUPS_MAX} entries (the kernel's NGROUPS_MAX), got ${groups.length}`,
    );
  } else {
    groups.forEach((g, i) => {
      if (isInteger(g) && g > MAX_ID) add(['user', 'additionalGids', i], `${ID_RANGE} (got ${g})`);
    });
  }
  if (proc.args === undefined) add(['args'], 'is required');
  else if (Array.isArray(proc.args) && proc.args.length === 0) add(['args'], 'must not be empty');

  arr(proc.env).forEach((entry, i) => {
    if (typeof entry !== 'string') return;
    const eq = entry.indexOf('=');
    if (eq <= 0) add(['env', i], `must have the form NAME=value (got ${JSON.stringify(entry)})`);
    else if (entry.includes('\0')) add(['env', i], 'must not contain a NUL byte');
  });

  const caps = obj(proc.capabilities);
  for (const set of CAPABILITY_SETS) {
    arr(caps?.[set]).forEach((name, i) => {
      if (typeof name === 'string' && !/^CAP_[A-Z_]+$/.test(name)) {
        add(
          ['capabilities', set, i],
          `must be a capability name such as CAP_CHOWN (got ${JSON.stringify(name)})`,
        );
      }
    });
  }
  // capset(2) refuses an effective set that is not a subset of the permitted one (EPERM).
  if (caps && Array.isArray(caps.effective)) {
    const permitted = new Set(arr(caps.permitted));
    const missing = caps.effective.filter((c) => typeof c === 'string' && !permitted.has(c));
    if (missing.length > 0) {
      const shownCaps =
        missing.length > 3
          ? `${missing.slice(0, 3).join(', ')} and ${missing.length - 3} more`
          : missing.join(', ');
      add(
        ['capabilities', 'permitted'],
        `must include every capability of capabilities.effective (missing ${shownCaps})`,
      );
    }
  }

  const seenRlimits = new Map<string, number>();
  arr(proc.rlimits).forEach((r, i) => {
    const rl = obj(r);
    const type = str(rl?.type);
    if (!rl || type === undefined) return;
    if (!type.startsWith('RLIMIT_'))
      add(['rlimits', i, 'type'], `must be an RLIMIT_* name (got ${JSON.stringify(type)})`);
    else if (!RLIMITS.has(type))
      add(['rlimits', i, 'type'], `is not a known resource limit (got ${JSON.stringify(type)})`);
    const first = seenRlimits.get(type);
    if (first !== undefined)
      add(['rlimits', i, 'type'], `duplicates process.rlimits[${first}] (each type may appear once)`);
    else seenRlimits.set(type, i);
    const soft = num(rl.soft);
    const hard = num(rl.hard);
    if (soft !== undefined && hard !== undefined && soft > hard)
      add(['rlimits', i, 'soft'], 'must not exceed hard');
  });

  // Same rules as runc's validator: fields that the chosen policy would ignore are mistakes.
  const sched = obj(proc.scheduler);
  const policy = str(sched?.policy);
  if (sched && policy) {
    const nice = num(sched.nice);
    if (
      (policy === 'SCHED_OTHER' || policy === 'SCHED_BATCH') &&
      nice !== undefined &&
      (nice < -20 || nice > 19)
    ) {
      add(['scheduler', 'nice'], `must be between -20 and 19 with policy ${policy}`);
    }
    if (num(sched.priority) && policy !== 'SCHED_FIFO' && policy !== 'SCHED_RR') {
      add(['scheduler', 'priority'], 'can only be set with policy SCHED_FIFO or SCHED_RR');
    }
    for (const k of ['runtime', 'deadline', 'period'] as const) {
      if (num(sched[k]) && policy !== 'SCHED_DEADLINE')
        add(['scheduler', k], 'can only be set with policy SCHED_DEADLINE');
    }
  }
}

/** The kernel refuses a uid_map/gid_map line whose range passes 4294967295 (u32 -1 is "no id"). */
function checkIdMappings(list: unknown, at: Segment[], add: Add): void {
  arr(list).forEach((m, i) => {
    const map = obj(m);
    const size = map?.size;
    if (map === undefined || !isInteger(size)) return;
    for (const k of ['containerID', 'hostID'] as const) {
      const id = map[k];
      if (isInteger(id) && BigInt(id) + BigInt(size) > 4294967295n) {
        add(
          [...at, i, k],
          `${k} + size must not exceed 4294967295 (the kernel refuses the mapping), got ${id} + ${size}`,
        );
      }
    }
  });
}

function checkMounts(config: Obj, add: Add): void {
  arr(config.mounts).forEach((m, i) => {
    const mount = obj(m);
    if (!mount) return;
    for (const key of ['uidMappings', 'gidMappings'] as const)
      checkIdMappings(mount[key], ['mounts', i, key], add);
    const dest = str(mount.destination);
    if (dest !== undefined && !dest.startsWith('/'))
      add(['mounts', i, 'destination'], 'must be an absolute path');
    for (const k of ['destination', 'source', 'type'] as const) {
      if (str(mount[k])?.includes('\0')) add(['mounts', i, k], 'must not contain a NUL byte');
    }
    // The spec requires the two id-mapped-mount maps together.
    if (mount.uidMappings !== undefined && mount.gidMappings === undefined)
      add(['mounts', i, 'gidMappings'], 'is required with uidMappings');
    if (mount.gidMappings !== undefined && mount.uidMappings === undefined)
      add(['mounts', i, 'uidMappings'], 'is required with gidMappings');
  });
}

function checkHooks(config: Obj, add: Add): void {
  const hooks = obj(config.hooks);
  for (const kind of HOOK_KINDS) {
    arr(hooks?.[kind]).forEach((h, i) => {
      const p = str(obj(h)?.path);
      if (p !== undefined && !p.startsWith('/')) add(['hooks', kind, i, 'path'], 'must be an absolute path');
    });
  }
}

function checkAnnotations(config: Obj, add: Add): void {
  const annotations = obj(config.annotations);
  if (annotations && Object.hasOwn(annotations, '')) add(['annotations', ''], 'keys must not be empty');
}

function checkSysctl(linux: Obj, lacksNs: (t: string) => boolean, add: Add): void {
  const sysctl = obj(linux.sysctl);
  if (!sysctl) return;
  for (const key of Object.keys(sysctl)) {
    const path: Segment[] = ['linux', 'sysctl', key];
    // The key becomes a path under /proc/sys: keep it to plain, non-empty components.
    // Either "." or "/" separates components; the first one found decides (see sysctl.d(5)).
    const sep = /[./]/.exec(key)?.[0] ?? '.';
    const parts = key.split(sep);
    if (key === '' || /[\s\0]/.test(key) || parts.some((p) => p === '' || p === '.' || p === '..')) {
      add(path, 'is not a valid sysctl name');
      continue;
    }
    // Normalise "net/ipv4/conf/eth0.100/rp_filter" to dotted form for the namespace rules.
    const name = sep === '/' ? key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.')) : key;
    // Only sysctls isolated by a namespace the container gets may be set (runc's rules);
    // whether a joined network namespace is the host's is left to the runtime.
    if (IPC_SYSCTLS.has(name) || name.startsWith('fs.mqueue.')) {
      if (lacksNs('ipc')) add(path, 'requires an ipc namespace in linux.namespaces');
    } else if (name.startsWith('net.')) {
      if (lacksNs('network')) add(path, 'requires a network namespace in linux.namespaces');
    } else if (name.startsWith('user.')) {
      // The user.max_* limits belong to the user namespace (runc 1.2 allows them with one).
      if (lacksNs('user')) add(path, 'requires a user namespace in linux.namespaces');
    } else if (name === 'kernel.hostname' || name === 'kernel.domainname') {
      if (lacksNs('uts')) add(path, 'requires a uts namespace in linux.namespaces');
      else if (name === 'kernel.hostname') add(path, 'conflicts with the hostname field; set that instead');
    } else {
      add(path, 'is not isolated by a namespace, so a container cannot set it');
    }
  }
}

function checkResources(resources: Obj | undefined, add: Add): void {
  if (!resources) return;
  arr(obj(resources.blockIO)?.weightDevice).forEach((d, i) => {
    const dev = obj(d);
    if (dev && dev.weight === undefined && dev.leafWeight === undefined) {
      add(['linux', 'resources', 'blockIO', 'weightDevice', i], 'must set weight or leafWeight');
    }
  });
  for (const [name, r] of Object.entries(obj(resources.rdma) ?? {})) {
    const rdma = obj(r);
    if (rdma && rdma.hcaHandles === undefined && rdma.hcaObjects === undefined) {
      add(['linux', 'resources', 'rdma', name], 'must set hcaHandles or hcaObjects');
    }
  }
}

function checkSeccomp(seccomp: Obj | undefined, add: Add): void {
  if (!seccomp) return;
  const takesErrno = (action: unknown) => action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE';
  if (seccomp.defaultAction === 'SCMP_ACT_NOTIFY')
    add(['linux', 'seccomp', 'defaultAction'], 'cannot be SCMP_ACT_NOTIFY');
  if (seccomp.defaultErrnoRet !== undefined && !takesErrno(seccomp.defaultAction)) {
    add(
      ['linux', 'seccomp', 'defaultErrnoRet'],
      'is only valid with defaultAction SCMP_ACT_ERRNO or SCMP_ACT_TRACE',
    );
  }
  if (seccomp.listenerMetadata !== undefined && !seccomp.listenerPath) {
    add(['linux', 'seccomp', 'listenerMetadata'], 'requires listenerPath');
  }
  arr(seccomp.syscalls).forEach((s, i) => {
    const rule = obj(s);
    if (!rule) return;
    const at = (...rest: Segment[]): Segment[] => ['linux', 'seccomp', 'syscalls', i, ...rest];
    if (rule.errnoRet !== undefined && !takesErrno(rule.action))
      add(at('errnoRet'), 'is only valid with action SCMP_ACT_ERRNO or SCMP_ACT_TRACE');
    // The notifying process itself needs write(2) to talk to the agent.
    if (rule.action === 'SCMP_ACT_NOTIFY' && arr(rule.names).includes('write'))
      add(at('names'), 'must not include "write" with action SCMP_ACT_NOTIFY');
    arr(rule.args).forEach((a, j) => {
      const index = num(obj(a)?.index);
      if (index !== undefined && index > 5)
        add(at('args', j, 'index'), 'must be at most 5 (system calls have six arguments)');
    });
  });
}
