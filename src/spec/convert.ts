/**
 * The runtime-spec turned once into what `create` and the init act on (as
 * runc's specconv turns it into libcontainer's config): the process, the
 * rootfs as a host path, and the namespaces resolved to clone flags, paths
 * to join and the namespaces joined or made by someone else than the
 * clone (user, pid and time by the clone chain, cgroup by the init once it
 * is in its cgroup). Pure: nothing here touches the host.
 */
import path from 'node:path';
import { UserError } from '../errors.js';
import { NAMESPACE_FLAGS } from '../linux/ns.js';
import type { LinuxNamespace, LinuxNamespaceType, Process, Spec } from './types.gen.js';

/** A namespace the init joins by path itself (user, pid and time are joined before it runs). */
export interface NamespaceToJoin {
  type: Exclude<LinuxNamespaceType, 'user' | 'pid' | 'time'>;
  path: string;
}

export interface NamespacePlan {
  /** CLONE_NEW* flags of the namespaces the clone makes. */
  cloneFlags: number;
  /** Joined by the init, in the config's order (the mount namespace is joined last by the init). */
  join: NamespaceToJoin[];
  /** Joined by the clone chain (user, time) or by `create` for the clone (pid). */
  userNsPath?: string | undefined;
  pidNsPath?: string | undefined;
  timeNsPath?: string | undefined;
  /** A new time namespace, its offsets written before the init runs. */
  newTimeNs: boolean;
  /** A new cgroup namespace, made by the init once it is in its cgroup. */
  newCgroupNs: boolean;
  /** Every namespace given by path, in the config's order: each must be of its type. */
  paths: Array<{ type: LinuxNamespaceType; path: string }>;
}

/** The container as `create` makes it. */
export interface ContainerConfig {
  spec: Spec;
  /** spec.process: a container needs one. */
  process: Process;
  /** Absolute host path of the rootfs. */
  rootfs: string;
  namespaces: NamespacePlan;
}

/** Resolve the config's namespaces: what the clone makes, what is joined by path and by whom. */
function planNamespaces(namespaces: LinuxNamespace[] | undefined): NamespacePlan {
  const plan: NamespacePlan = { cloneFlags: 0, join: [], newTimeNs: false, newCgroupNs: false, paths: [] };
  for (const ns of namespaces ?? []) {
    if (ns.path) {
      plan.paths.push({ type: ns.type, path: ns.path });
      if (ns.type === 'user') plan.userNsPath = ns.path;
      else if (ns.type === 'pid') plan.pidNsPath = ns.path;
      else if (ns.type === 'time') plan.timeNsPath = ns.path;
      else plan.join.push({ type: ns.type, path: ns.path });
    } else if (ns.type === 'time') {
      plan.newTimeNs = true;
    } else if (ns.type === 'cgroup') {
      plan.newCgroupNs = true;
    } else {
      plan.cloneFlags |= NAMESPACE_FLAGS[ns.type] ?? 0;
    }
  }
  return plan;
}

/** The config of a container from its validated config.json and its bundle directory. */
export function containerConfig(spec: Spec, bundle: string): ContainerConfig {
  const { process } = spec;
  if (!process) throw new UserError('config.json: process is required to create a container');
  return {
    spec,
    process,
    rootfs: path.resolve(bundle, spec.root?.path ?? 'rootfs'),
    namespaces: planNamespaces(spec.linux?.namespaces),
  };
}
