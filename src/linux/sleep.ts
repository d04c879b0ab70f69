/** A blocking sleep of the calling thread, for the short waits of synchronous code (polling a cgroup file or /proc). */
const cell = new Int32Array(new SharedArrayBuffer(4));

/** Block the calling thread for `ms` milliseconds (Atomics.wait on a cell nobody notifies). */
export function sleepMs(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}
