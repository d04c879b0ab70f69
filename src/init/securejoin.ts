/**
 * Resolve a path inside the rootfs the way the container would see it:
 * symlinks (absolute or relative, `..` included) are followed relative to
 * the rootfs and can never leave it. A component that does not exist yet
 * is kept as is.
 */
import fs from 'node:fs';
import path from 'node:path';

const MAX_SYMLINKS = 255;

export function secureJoin(root: string, unsafe: string): string {
  let remaining = unsafe.split('/').filter((c) => c !== '' && c !== '.');
  const parts: string[] = [];
  let links = 0;
  while (remaining.length > 0) {
    const c = remaining.shift()!;
    if (c === '..') {
      parts.pop();
      continue;
    }
    const full = path.join(root, ...parts, c);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(full);
    } catch {
      st = undefined;
    }
    if (st?.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw new Error(`too many levels of symbolic links in ${unsafe}`);
      const target = fs.readlinkSync(full);
      if (target.startsWith('/')) parts.length = 0;
      remaining = [...target.split('/').filter((x) => x !== '' && x !== '.'), ...remaining];
      continue;
    }
    parts.push(c);
  }
  return path.join(root, ...parts);
}
