// Entry point of the container init (dist/init.cjs). It only loads the init
// itself, dist/init-main.cjs, through its code cache (src/code-cache.ts).
// That bundle is whole, with no lazy imports: after pivot_root the host's
// files cannot be loaded.
import { useCodeCaches } from '../code-cache.js';

useCodeCaches();
void import('./init.js').then((m) => m.runInit());
