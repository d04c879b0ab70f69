/** The v1 rdma hierarchy: the files are v2's (../rdma.ts). */
import { rdmaStats, setRdma } from '../rdma.js';
import { join, type Subsystem } from './subsystem.js';

export const rdma: Subsystem = {
  name: 'rdma',
  apply: (dir, _r, pid) => join(dir, pid),
  set: setRdma,
  stats: rdmaStats,
};
