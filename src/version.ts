// Filled in by scripts/build.mjs (esbuild define); the fallbacks serve tests run from source.
declare const __RUNTS_VERSION__: string | undefined;
declare const __RUNTS_COMMIT__: string | undefined;
export const VERSION = typeof __RUNTS_VERSION__ === 'string' ? __RUNTS_VERSION__ : '0.0.0-dev';
export const COMMIT = typeof __RUNTS_COMMIT__ === 'string' ? __RUNTS_COMMIT__ : 'unknown';
/** The runtime-spec version runts implements and writes into `runts spec`. */
export const SPEC_VERSION = '1.2.0';
