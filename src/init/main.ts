// Entry point of the container init (dist/init.cjs). Bundled whole, with no
// lazy imports: after pivot_root the host's files cannot be loaded.
import { runInit } from './init.js';

runInit();
