/**
 * V8 code caches for runts' own bundles. A container start is two Node
 * processes, and compiling their code is a large part of what runts costs
 * beyond Node itself (the config validator alone is 180 kB of generated code).
 * The build (scripts/build.mjs) compiles each bundle of dist/ eagerly and
 * writes V8's code cache beside it as `<file>.v8cache`; loading through the
 * cache skips parsing and compiling. V8 rejects a cache made by another V8
 * version, other V8 flags or another source, and the file then compiles as
 * usual: a cache can make runts slower to start, never different.
 */
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

const CODE_CACHE_SUFFIX = '.v8cache';

/** The CommonJS wrapper; scripts/build.mjs compiles the same text. */
export function wrapCommonJs(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n})`;
}

interface LoadingModule {
  exports: unknown;
  require(id: string): unknown;
}

function loadWithCodeCache(module: LoadingModule, filename: string): void {
  const source = fs.readFileSync(filename, 'utf8');
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(filename + CODE_CACHE_SUFFIX);
  } catch {}
  const script = new vm.Script(wrapCommonJs(source), { filename, cachedData });
  const fn = script.runInThisContext() as (...args: unknown[]) => void;
  const requireFromModule = (id: string) => module.require(id);
  fn.call(module.exports, module.exports, requireFromModule, module, filename, path.dirname(filename));
}

/**
 * From now on, require() of a .cjs file (runts' bundles are the only ones)
 * compiles it from its code cache when there is one. Node registers no
 * handler of its own for .cjs (it falls back to .js), so nothing else changes.
 */
export function useCodeCaches(): void {
  const extensions = (Module as unknown as { _extensions: Record<string, unknown> })._extensions;
  extensions['.cjs'] = loadWithCodeCache;
}
