/**
 * JSON text as Go's encoding/json writes it, so that runts prints byte for
 * byte what runc prints. JSON.stringify differs from Go only inside strings:
 * Go escapes <, > and & (HTML safety), U+2028 and U+2029, and writes \b and
 * \f as \u0008 and \u000c. Map key order is the caller's business (Go sorts
 * map keys; struct fields keep declaration order).
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

/** `json.Marshal` (no indent) or `json.MarshalIndent(v, "", indent)`. */
export function goJson(value: unknown, indent?: string): string {
  // Backslash pairs are matched first so that an escaped backslash followed
  // by "b" (`\\b`) is never mistaken for the escape `\b`.
  return JSON.stringify(value, null, indent).replace(/\\[\\bf]|[<>&\u2028\u2029]/g, (m) => GO_ESCAPES[m] ?? m);
}
