// Entry point of a process started by `runts exec` (dist/exec-init.cjs).
// Bundled whole, with no lazy imports: after it joins the container's mount
// namespace the host's files cannot be loaded.
import { runExecInit } from './exec-init.js';

runExecInit();
