/**
 * Foreground `run`/`exec` with a terminal and no --console-socket: runts
 * receives the pty master itself and relays it to its own stdio, with its
 * terminal in raw mode and window size changes passed on (as runc does).
 */
import fs from 'node:fs';
import { makeRaw, setWindowSize } from '../linux/pty.js';

export class PtyRelay {
  private readonly done: Promise<void>;
  private readonly onResize = () => this.resize();
  private readonly restoreTerminal: () => void = () => {};

  constructor(private readonly master: number) {
    if (process.stdin.isTTY) this.restoreTerminal = makeRaw(0);
    this.resize();
    process.on('SIGWINCH', this.onResize);
    const out = fs.createReadStream('', { fd: master, autoClose: false, highWaterMark: 64 * 1024 });
    const input = fs.createWriteStream('', { fd: master, autoClose: false });
    process.stdin.pipe(input);
    // EIO from the master means every slave fd is closed: the output is complete.
    this.done = new Promise((resolve) => {
      out.on('data', (chunk) => process.stdout.write(chunk));
      out.on('error', () => resolve());
      out.on('end', () => resolve());
    });
  }

  private resize(): void {
    if (process.stdout.isTTY) {
      try {
        setWindowSize(this.master, process.stdout.rows, process.stdout.columns);
      } catch {}
    }
  }

  /** Wait (briefly) for the rest of the output, then restore the terminal. */
  async finish(timeoutMs = 2000): Promise<void> {
    await Promise.race([this.done, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    process.off('SIGWINCH', this.onResize);
    process.stdin.unpipe();
    process.stdin.pause();
    this.restoreTerminal();
  }
}
