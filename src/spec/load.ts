// Reading a bundle's config.json: every failure becomes a UserError whose message says
// exactly what to fix (file, line and column, or each invalid field).

import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { Spec } from './types.gen.js';
import { checkConfig, describeIssues, formatPath } from './validate.js';
import { JsonDepthError, parseJson, type Parsed } from '../json.js';

/** Largest config.json read: 64 MiB, far above any real one (Kubernetes caps annotations at 256 KiB). */
const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

/** Reads, parses and validates `<bundleDir>/config.json`. */
export function loadBundleConfig(bundleDir: string): Spec {
  const path = join(bundleDir, 'config.json');
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    // Refused before anything is made. Reading and checking cost linear time (about 0.2 s
    // a MB for create as a whole here); the bound keeps memory and time sane and gives a
    // clear message where Node would fail on a string past its own limit.
    const size = fstatSync(fd).size;
    if (size > MAX_CONFIG_BYTES)
      throw new UserError(`${path}: too large (${size} bytes; at most ${MAX_CONFIG_BYTES})`);
    text = readFileSync(fd, 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(describeReadError(path, err));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return parseConfigText(text, path);
}

// String maps of the spec: Go keeps a null value there as "", so runts does not drop it
// silently; the validator reports it. Null members anywhere else mean "absent", as for runc.
const STRING_MAPS = new Set(['annotations', 'linux.sysctl', 'linux.resources.unified']);

/**
 * Parses config.json (or process.json) text the way runc's Go reads it: integers exact to 64
 * bits (bigints beyond 2^53), null members taken as absent, at most MAX_DEPTH levels.
 */
export function parseSpecJson(text: string, sourceName: string): Parsed {
  // A BOM is legal in a file but not to JSON.parse; editors on some systems add one.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return parseJson(body, { dropNullMembers: true, keepNullIn: STRING_MAPS });
  } catch (err) {
    if (err instanceof JsonDepthError) throw new UserError(`${sourceName}: invalid JSON: ${err.message}`);
    throw new UserError(`${sourceName}: ${describeJsonError(text, err)}`);
  }
}

/**
 * Runs `check` on a parsed document with its bigints seen as numbers (the generated
 * validator knows only numbers), clamped so that range checks still hold: a value past
 * u64 max stays past every maximum, one past i64 max past int64's. The exact bigints are
 * put back afterwards.
 */
function checkWithExactIntegers<T>(
  parsed: Parsed,
  check: (value: unknown, sources: ReadonlyMap<string, string>) => T,
): T {
  const sources = new Map<string, string>();
  const exact: Array<{ parent: Record<string | number, unknown>; key: string | number; value: bigint }> = [];
  for (const l of parsed.inexact) {
    sources.set(formatPath(l.path), l.source);
    if (l.exact === undefined) continue;
    const parent = l.path
      .slice(0, -1)
      .reduce<unknown>((n, k) => (n as Record<string | number, unknown>)[k], parsed.value) as Record<
      string | number,
      unknown
    >;
    const key = l.path.at(-1);
    if (key === undefined) continue;
    exact.push({ parent, key, value: l.exact });
    parent[key] = asNumberForSchema(l.exact);
  }
  try {
    return check(parsed.value, sources);
  } finally {
    for (const e of exact) e.parent[e.key] = e.value;
  }
}

const U64_MAX = 2n ** 64n - 1n;
const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);

function asNumberForSchema(v: bigint): number {
  if (v > U64_MAX) return 2 ** 65;
  if (v > I64_MAX) return 2 ** 64;
  if (v < I64_MIN) return -(2 ** 65);
  return Number(v);
}

/** Parses and validates config.json text; `sourceName` names it in messages. */
export function parseConfigText(text: string, sourceName: string): Spec {
  const parsed = parseSpecJson(text, sourceName);
  const issues = checkWithExactIntegers(parsed, checkConfig);
  if (issues.length > 0) throw new UserError(describeIssues('invalid config.json', issues));
  return parsed.value as Spec;
}

function describeReadError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return `open ${path}: no such file or directory`;
    case 'EACCES':
      return `open ${path}: permission denied`;
    case 'EISDIR':
      return `read ${path}: is a directory`;
    default:
      return `open ${path}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * Turns a JSON.parse SyntaxError into "invalid JSON at line L column C: <reason>". V8 words
 * the reason well but gives `at position N` only for some errors, so the position comes from
 * a small scanner of our own when V8 leaves it out.
 */
function describeJsonError(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const reason = message
    .replace(/\s*(?:in JSON )?at position \d+.*$/s, '')
    .replace(
      /^Unexpected token '(.+?)', .*$/s,
      (_m, c: string) => `unexpected character '${JSON.stringify(c).slice(1, -1)}'`,
    )
    .replace(/^Unexpected end of JSON input$/, 'unexpected end of input');
  const v8 = /at position (\d+)/.exec(message);
  const offset = v8 ? Number(v8[1]) : locateJsonError(body);
  if (offset === undefined) return `invalid JSON: ${lowerFirst(reason)}`;
  const { line, column } = lineColumn(body, offset);
  return `invalid JSON at line ${line} column ${column}: ${lowerFirst(reason)}`;
}

/** Offset of the first syntax error in `text`, or undefined if it is valid JSON. */
function locateJsonError(text: string): number | undefined {
  let i = 0;
  class Stop extends Error {
    constructor(readonly at: number) {
      super('JSON syntax error');
    }
  }
  const fail = (at = i): never => {
    throw new Stop(at);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  };
  const expect = (c: string) => (text[i] === c ? i++ : fail());
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        expect(':');
        value();
        ws();
        if (text[i] === ',') i++;
        else return void expect('}');
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else return void expect(']');
      }
    } else if (c === '"') {
      string();
    } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      const m = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
      m.lastIndex = i;
      if (!m.exec(text)) fail();
      i = m.lastIndex;
    } else {
      for (const word of ['true', 'false', 'null']) {
        if (c !== word[0]) continue;
        for (const ch of word)
          if (text[i] === ch) i++;
          else fail();
        return;
      }
      fail();
    }
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail();
      const code = text.charCodeAt(i);
      if (code === 0x22) {
        i++;
        return;
      }
      if (code < 0x20) fail();
      if (code === 0x5c) {
        const e = text[i + 1];
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail(i + 1);
      } else i++;
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return Math.min(e.at, text.length);
    throw e;
  }
}

/** 1-based line and column of a UTF-16 offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
