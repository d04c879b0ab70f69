/**
 * Fault injection for the crash tests: `_RUNTS_FAULT=<point>` makes runts
 * SIGKILL itself when it reaches that point, so a test can kill `create` at
 * an exact phase instead of after a random sleep. Points: clone (right
 * after the clone chain started), sync (after the sync byte), booted (the
 * init runs Node), ready (the init is ready, the container not recorded).
 */
export function faultPoint(name: string): void {
  if (process.env._RUNTS_FAULT === name) process.kill(process.pid, 'SIGKILL');
}
