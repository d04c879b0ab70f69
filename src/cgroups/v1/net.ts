/** net_cls and net_prio (v1): a class id for traffic control, priorities per interface. */
import { intStr, writeFile } from '../fsutil.js';
import { join, noSet, type Subsystem } from './subsystem.js';

export const netCls: Subsystem = {
  name: 'net_cls',
  apply: (dir, _r, pid) => join(dir, pid),
  set(dir, r) {
    if (r.netClsClassid !== 0) writeFile(dir, 'net_cls.classid', intStr(r.netClsClassid));
  },
};

export const netPrio: Subsystem = {
  name: 'net_prio',
  apply: (dir, _r, pid) => join(dir, pid),
  set(dir, r) {
    for (const p of r.netPrioIfpriomap) writeFile(dir, 'net_prio.ifpriomap', `${p.name} ${p.priority}`);
  },
};

export const perfEvent: Subsystem = {
  name: 'perf_event',
  apply: (dir, _r, pid) => join(dir, pid),
  set: noSet,
};
