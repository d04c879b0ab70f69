/** io (v2): weight (BFQ's io.bfq.weight when present, else io.weight converted), io.max throttling. */
import fs from 'node:fs';
import path from 'node:path';
import { CgroupFileError, intStr, parseU64, readOptional, writeFile } from '../fsutil.js';
import { blkioToIoWeight } from '../resources.js';
import type { BlkioStatEntry, Resources, Stats } from '../types.js';

export function isIoSet(r: Resources): boolean {
  return (
    r.blkioWeight !== 0 ||
    r.blkioWeightDevice.length > 0 ||
    r.blkioThrottleReadBpsDevice.length > 0 ||
    r.blkioThrottleWriteBpsDevice.length > 0 ||
    r.blkioThrottleReadIOPSDevice.length > 0 ||
    r.blkioThrottleWriteIOPSDevice.length > 0
  );
}

export function setIo(dir: string, r: Resources): void {
  if (!isIoSet(r)) return;
  const bfq = path.join(dir, 'io.bfq.weight');
  const haveBfq = (r.blkioWeight !== 0 || r.blkioWeightDevice.length > 0) && fs.existsSync(bfq);
  if (r.blkioWeight !== 0) {
    if (haveBfq) writeFile(dir, 'io.bfq.weight', intStr(r.blkioWeight));
    else writeFile(dir, 'io.weight', intStr(blkioToIoWeight(r.blkioWeight)));
  }
  // io.bfq.weight takes "MAJ:MIN WEIGHT" lines only on kernels whose file reads "default N".
  if (haveBfq && !/^\s*\d+\s*$/.test(fs.readFileSync(bfq, 'utf8'))) {
    for (const wd of r.blkioWeightDevice) {
      try {
        writeFile(dir, 'io.bfq.weight', `${wd.major}:${wd.minor} ${wd.weight}`);
      } catch (e) {
        throw new CgroupFileError(
          `setting device weight "${wd.major}:${wd.minor} ${wd.weight}": ${(e as Error).message}`,
        );
      }
    }
  }
  const max = (key: string, l: Resources['blkioThrottleReadBpsDevice']) => {
    for (const d of l) writeFile(dir, 'io.max', `${d.major}:${d.minor} ${key}=${intStr(d.rate)}`);
  };
  max('rbps', r.blkioThrottleReadBpsDevice);
  max('wbps', r.blkioThrottleWriteBpsDevice);
  max('riops', r.blkioThrottleReadIOPSDevice);
  max('wiops', r.blkioThrottleWriteIOPSDevice);
}

export function statIo(dir: string, s: Stats): void {
  const text = readOptional(dir, 'io.stat');
  if (text === undefined) return;
  const bytes: BlkioStatEntry[] = [];
  const ios: BlkioStatEntry[] = [];
  for (const line of text.split('\n')) {
    const [device = '', ...items] = line.trim().split(/\s+/);
    if (items.length === 0) continue;
    const d = device.split(':');
    if (d.length !== 2) continue;
    const [majorText = '', minorText = ''] = d;
    const major = parseU64(majorText);
    const minor = parseU64(minorText);
    for (const item of items) {
      const eq = item.indexOf('=');
      if (eq < 0) continue;
      const [k, v] = [item.slice(0, eq), item.slice(eq + 1)];
      const table = k === 'rbytes' || k === 'wbytes' ? bytes : k === 'rios' || k === 'wios' ? ios : undefined;
      if (!table) continue;
      table.push({ major, minor, op: k.startsWith('r') ? 'Read' : 'Write', value: parseU64(v) });
    }
  }
  s.blkio.ioServiceBytesRecursive = bytes;
  s.blkio.ioServicedRecursive = ios;
}
