/**
 * runc-compatible logging: `--log FILE` appends entries, `--log-format json`
 * writes one object per line with level, msg and time (containerd reports
 * the last "error" line to its user). Without --log nothing but errors is
 * printed, to stderr, as `runts: <message>`.
 */
import fs from 'node:fs';
import { writeStderr } from '../output.js';

export type Level = 'debug' | 'info' | 'warning' | 'error';

export class Logger {
  private fd: number | undefined;

  constructor(
    private readonly file: string | undefined,
    private readonly format: 'text' | 'json',
    readonly debugEnabled: boolean,
  ) {}

  private write(level: Level, msg: string): void {
    if (!this.file) {
      if (level === 'debug' || level === 'info') {
        if (this.debugEnabled) writeStderr(`runts: ${level}: ${msg}\n`);
      }
      return;
    }
    if (level === 'debug' && !this.debugEnabled) return;
    const time = new Date().toISOString();
    const line =
      this.format === 'json'
        ? JSON.stringify({ level, msg, time }) + '\n'
        : `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
    try {
      this.fd ??= fs.openSync(this.file, 'a', 0o644);
      fs.writeSync(this.fd, line);
    } catch {
      // A log file we cannot write must not hide the real outcome.
    }
  }

  debug(msg: string): void {
    this.write('debug', msg);
  }
  info(msg: string): void {
    this.write('info', msg);
  }
  warn(msg: string): void {
    this.write('warning', msg);
    if (!this.file) writeStderr(`runts: warning: ${msg}\n`);
  }
  /** Log an error: to the log file if any, and always to stderr. */
  error(msg: string): void {
    this.write('error', msg);
    writeStderr(`runts: ${msg}\n`);
  }
}
