/** blkio (v1): weights (CFQ or BFQ file names), throttling, and the I/O statistics runc reads. */
import path from 'node:path';
import { exists, intStr, parseU64, readOptional, writeFile } from '../fsutil.js';
import type { BlkioStatEntry, BlkioStats, Resources, Stats, ThrottleDevice } from '../types.js';
import { join, type Subsystem } from './subsystem.js';

function weightFiles(dir: string | undefined): [string, string] {
  if (dir && exists(path.join(dir, 'blkio.weight'))) return ['blkio.weight', 'blkio.weight_device'];
  return ['blkio.bfq.weight', 'blkio.bfq.weight_device'];
}

const td = (d: ThrottleDevice) => `${d.major}:${d.minor} ${intStr(d.rate)}`;

function setBlkio(dir: string | undefined, r: Resources): void {
  const [weight, weightDevice] = weightFiles(dir);
  if (r.blkioWeight !== 0) writeFile(dir, weight, intStr(r.blkioWeight));
  if (r.blkioLeafWeight !== 0) writeFile(dir, 'blkio.leaf_weight', intStr(r.blkioLeafWeight));
  for (const wd of r.blkioWeightDevice) {
    if (wd.weight !== 0) writeFile(dir, weightDevice, `${wd.major}:${wd.minor} ${wd.weight}`);
    if (wd.leafWeight !== 0)
      writeFile(dir, 'blkio.leaf_weight_device', `${wd.major}:${wd.minor} ${wd.leafWeight}`);
  }
  for (const d of r.blkioThrottleReadBpsDevice) writeFile(dir, 'blkio.throttle.read_bps_device', td(d));
  for (const d of r.blkioThrottleWriteBpsDevice) writeFile(dir, 'blkio.throttle.write_bps_device', td(d));
  for (const d of r.blkioThrottleReadIOPSDevice) writeFile(dir, 'blkio.throttle.read_iops_device', td(d));
  for (const d of r.blkioThrottleWriteIOPSDevice) writeFile(dir, 'blkio.throttle.write_iops_device', td(d));
}

/** "8:0 Read 1282048" / "8:0 6792" lines; undefined when the file is missing. */
function readStat(dir: string, file: string): BlkioStatEntry[] | undefined {
  const text = readOptional(dir, file);
  if (text === undefined) return undefined;
  const out: BlkioStatEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(/[ :]+/).filter(Boolean);
    if (f.length < 3) {
      if (f.length === 2 && f[0] === 'Total') continue;
      throw new Error(`malformed line ${JSON.stringify(line)} in ${path.join(dir, file)}`);
    }
    const [major = '', minor = '', third = '', fourth = ''] = f;
    const [op, value] = f.length === 4 ? [third, fourth] : ['', third];
    out.push({ major: parseU64(major), minor: parseU64(minor), op, value: parseU64(value) });
  }
  return out;
}

type Field = keyof BlkioStats;

// Tried in order; the first group whose first file exists is used (runc's choice).
const GROUPS: Array<Array<[string, Field]>> = [
  [
    ['blkio.bfq.sectors_recursive', 'sectorsRecursive'],
    ['blkio.bfq.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.bfq.io_wait_time_recursive', 'ioWaitTimeRecursive'],
    ['blkio.bfq.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.bfq.io_queued_recursive', 'ioQueuedRecursive'],
    ['blkio.bfq.time_recursive', 'ioTimeRecursive'],
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.sectors_recursive', 'sectorsRecursive'],
    ['blkio.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.io_wait_time_recursive', 'ioWaitTimeRecursive'],
    ['blkio.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.io_queued_recursive', 'ioQueuedRecursive'],
    ['blkio.time_recursive', 'ioTimeRecursive'],
    ['blkio.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.throttle.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.throttle.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.throttle.io_serviced', 'ioServicedRecursive'],
    ['blkio.throttle.io_service_bytes', 'ioServiceBytesRecursive'],
  ],
];

export const blkio: Subsystem = {
  name: 'blkio',
  apply: (dir, _r, pid) => join(dir, pid),
  set: setBlkio,
  stats(dir, s: Stats) {
    for (const group of GROUPS) {
      for (const [i, [file, field]] of group.entries()) {
        const entries = readStat(dir, file);
        // A missing or empty file: runc moves to the next group only at a group's first file.
        if (entries === undefined || entries.length === 0) {
          if (i === 0) break;
          return;
        }
        s.blkio[field] = entries;
        if (i === group.length - 1) return;
      }
    }
  },
};
