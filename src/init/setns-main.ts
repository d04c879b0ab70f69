// Entry point of a process started by `runts exec` (dist/setns-init.cjs). It
// only loads dist/setns-init-main.cjs through its code cache
// (src/code-cache.ts). That bundle is whole, with no lazy imports: after it
// joins the container's mount namespace the host's files cannot be loaded.
import { useCodeCaches } from '../code-cache.js';

useCodeCaches();
void import('./setns-init.js').then((m) => m.runSetnsInit());
