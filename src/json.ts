// JSON that keeps 64-bit integers exact. JSON.parse rounds every number to a double, so
// 18446744073709551615 (RLIM_INFINITY, u64 max) became 2^64 and then 0 once wrapped to 64
// bits. Here an integer literal beyond Number.MAX_SAFE_INTEGER becomes a bigint with its exact
// value; everything else is what JSON.parse gives. Cost stays linear and near zero for the
// usual document: a native regular expression decides whether any literal can be inexact,
// and only then are the number literals scanned and the tree walked.
//
// goJson writes what Go's encoding/json writes (runc's state, list, ps, spec and features
// output), with the same exact bigints.

/** A JSON integer as these functions hold it: a number when exact, else a bigint. */
export type JsonInt = number | bigint;

/**
 * Deepest nesting accepted. Go's encoding/json (runc) stops at 10000; runts stops earlier
 * because JSON.stringify, which writes the config to the state file and to the init, is
 * recursive and overflows the stack at a few thousand levels. The spec's own fields go
 * less than ten levels deep: only extension fields could nest more.
 */
export const MAX_DEPTH = 1000;

export class JsonDepthError extends Error {}

// A number literal that a double may not hold exactly: 16+ digits, or a 3-digit exponent.
const MAYBE_INEXACT = /\d{16}|[eE][+-]?\d{3}/;
// Strings (skipped whole, so digits inside them are not numbers) and number literals.
const TOKENS = /"[^"\\]*(?:\\[\s\S][^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/** A number literal whose double is not its value: an integer beyond 2^53, or one out of range. */
export interface InexactLiteral {
  /** Path of the value in the document (object keys and array indexes). */
  path: Array<string | number>;
  /** The literal as written. */
  source: string;
  /** Exact value when the literal is an integer (no fraction, no exponent). */
  exact?: bigint;
}

export interface ParseOptions {
  /**
   * Go's reading of config.json: a null object member means "absent", so it is removed
   * (except in the maps named by `keepNullIn`, whose null values stay for the validator).
   */
  dropNullMembers?: boolean;
  /** Paths (dotted, e.g. "annotations") of string maps whose null values are kept. */
  keepNullIn?: ReadonlySet<string>;
}

export interface Parsed {
  value: unknown;
  /** Every literal a double could not hold, in document order. */
  inexact: InexactLiteral[];
}

/**
 * Parses JSON text. Integers beyond 2^53 are bigints in `value`; `inexact` lists them with
 * their paths (and out-of-range literals such as 1e400, which stay Infinity). Throws
 * JSON.parse's SyntaxError for invalid text and JsonDepthError past MAX_DEPTH levels.
 */
export function parseJson(text: string, opts: ParseOptions = {}): Parsed {
  const literals = MAYBE_INEXACT.test(text) ? inexactLiterals(text) : [];
  if (literals.length === 0) {
    const value = JSON.parse(text) as unknown;
    return { value, inexact: walk(value, new Map(), opts) };
  }
  // Each inexact literal is parsed as a tagged string, then put back with its exact value.
  const tag = `\u0000${freshTag(text)}:`;
  let out = '';
  let last = 0;
  literals.forEach((l, i) => {
    out += `${text.slice(last, l.start)}"\\u0000${tag.slice(1)}${i}"`;
    last = l.end;
  });
  out += text.slice(last);
  let value: unknown;
  try {
    value = JSON.parse(out);
  } catch {
    // Report the syntax error against the text as written.
    JSON.parse(text);
    throw new Error('JSON.parse accepted the text but not its rewriting'); // unreachable
  }
  const byTag = new Map(literals.map((l, i) => [`${tag}${i}`, l.source]));
  return { value, inexact: walk(value, byTag, opts) };
}

function inexactLiterals(text: string): Array<{ start: number; end: number; source: string }> {
  const found: Array<{ start: number; end: number; source: string }> = [];
  TOKENS.lastIndex = 0;
  for (let m = TOKENS.exec(text); m; m = TOKENS.exec(text)) {
    const s = m[0];
    if (s.charCodeAt(0) === 0x22) continue;
    const integer = !/[.eE]/.test(s);
    if (integer ? !Number.isSafeInteger(Number(s)) : !Number.isFinite(Number(s))) {
      found.push({ start: m.index, end: m.index + s.length, source: s });
    }
  }
  return found;
}

/**
 * One iterative pass (no recursion: a deep document cannot overflow the stack): restores the
 * tagged literals, drops null members when asked, and enforces MAX_DEPTH. Documents with
 * neither are not walked (JSON.parse itself is iterative).
 */
function walk(root: unknown, byTag: Map<string, string>, opts: ParseOptions): InexactLiteral[] {
  const inexact: InexactLiteral[] = [];
  const restore = (v: unknown, path: Array<string | number>): unknown => {
    if (typeof v !== 'string' || v.charCodeAt(0) !== 0) return v;
    const source = byTag.get(v);
    if (source === undefined) return v;
    const integer = !/[.eE]/.test(source);
    inexact.push({ path, source, ...(integer ? { exact: BigInt(source) } : {}) });
    return integer ? BigInt(source) : Number(source);
  };
  if (byTag.size === 0 && !opts.dropNullMembers) return inexact;
  const stack: Array<{ node: object; path: Array<string | number> }> = [];
  if (root !== null && typeof root === 'object') stack.push({ node: root, path: [] });
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { node, path } = top;
    if (path.length >= MAX_DEPTH) throw new JsonDepthError(`nested more than ${MAX_DEPTH} levels deep`);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v = restore(node[i], [...path, i]);
        node[i] = v;
        if (v !== null && typeof v === 'object') stack.push({ node: v, path: [...path, i] });
      }
      continue;
    }
    const o = node as Record<string, unknown>;
    const keepNull = !opts.dropNullMembers || opts.keepNullIn?.has(path.join('.'));
    for (const k of Object.keys(o)) {
      const old = o[k];
      const v = restore(old, [...path, k]);
      if (v === null && !keepNull) Reflect.deleteProperty(o, k);
      // defineProperty: a plain assignment to a "__proto__" member would set the prototype.
      else if (v !== old)
        Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
      if (v !== null && typeof v === 'object') stack.push({ node: v, path: [...path, k] });
    }
  }
  return inexact;
}

/** JSON.stringify that writes bigints as exact integer literals (parseJson reads them back). */
export function stringifyJson(value: unknown, space?: string | number): string {
  let tag: string | undefined;
  let count = 0;
  const text = JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (typeof v !== 'bigint') return v;
      tag ??= `\u0000${freshTag('')}:`;
      count++;
      return `${tag}${v}`;
    },
    space,
  );
  if (tag === undefined) return text;
  const tagged = new RegExp(`"\\\\u0000${tag.slice(1)}(-?\\d+)"`, 'g');
  // A string of the document equal to the tag is not a bigint: choose another tag then.
  if ((text.match(tagged)?.length ?? 0) !== count) return stringifyJson(value, space);
  return text.replace(tagged, '$1');
}

/**
 * Go's encoding/json differs from JSON.stringify only inside strings: Go
 * escapes <, > and & (HTML safety), U+2028 and U+2029, and writes \b and \f
 * as \u0008 and \u000c.
 */
const GO_ESCAPES: Record<string, string> = {
  '\\b': '\\u0008',
  '\\f': '\\u000c',
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * JSON text as Go's `json.Marshal` (no indent) or `json.MarshalIndent(v, "",
 * indent)` writes it, so that runts prints byte for byte what runc prints;
 * bigints are exact integers as in stringifyJson. Map key order is the
 * caller's business (Go sorts map keys; struct fields keep declaration order).
 */
export function goJson(value: unknown, indent?: string): string {
  // Backslash pairs are matched first so that an escaped backslash followed
  // by "b" (`\\b`) is never mistaken for the escape `\b`.
  return stringifyJson(value, indent).replace(/\\[\\bf]|[<>&\u2028\u2029]/g, (m) => GO_ESCAPES[m] ?? m);
}

/** A tag that does not occur in `text`; random, so a document cannot be written to hold it. */
function freshTag(text: string): string {
  for (;;) {
    const tag = `runts-int-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
    if (!text.includes(tag)) return tag;
  }
}
