/**
 * runc's command-line surface, declared as data. The fast parser (argv.ts)
 * runs every invocation from this table; yargs (help.ts) renders --help from
 * the same table. Handlers are imported lazily so that `runts state` loads
 * nothing but what it needs.
 */
import type { CommandContext } from './context.js';

export type FlagType = 'bool' | 'string' | 'int' | 'strings';

export interface FlagSpec {
  name: string;
  alias?: string;
  type: FlagType;
  describe: string;
  default?: string | number | boolean;
}

export interface CommandSpec {
  name: string;
  usage: string;
  describe: string;
  /** Exact positional count, or [min, max] (max Infinity for "rest"). */
  args: number | [number, number];
  flags: FlagSpec[];
  /** Flags only before the first positional (runc's SkipArgReorder: exec, ps pass the rest on). */
  keepOrder?: boolean;
  load: () => Promise<{ run: (ctx: CommandContext) => Promise<number | void> | number | void }>;
}

export const globalFlags: FlagSpec[] = [
  { name: 'root', type: 'string', describe: 'root directory for storage of container state', default: '/run/runts' },
  { name: 'log', type: 'string', describe: 'set the log file to write runts logs to (default is stderr)' },
  { name: 'log-format', type: 'string', describe: 'set the log format ("text" or "json")', default: 'text' },
  { name: 'debug', type: 'bool', describe: 'enable debug logging' },
  { name: 'systemd-cgroup', type: 'bool', describe: 'enable systemd cgroup support' },
  { name: 'rootless', type: 'string', describe: 'ignore cgroup permission errors ("true", "false", or "auto")', default: 'auto' },
  { name: 'criu', type: 'string', describe: 'path to the criu binary used for checkpoint and restore (accepted, not used)' },
  { name: 'version', alias: 'v', type: 'bool', describe: 'print the version' },
  { name: 'help', alias: 'h', type: 'bool', describe: 'show help' },
];

const consoleSocket: FlagSpec = {
  name: 'console-socket',
  type: 'string',
  describe: 'path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console\'s pseudoterminal',
};
const pidfdSocket: FlagSpec = { name: 'pidfd-socket', type: 'string', describe: 'path to an AF_UNIX socket which will receive a pidfd of the container process' };
const pidFile: FlagSpec = { name: 'pid-file', type: 'string', describe: 'specify the file to write the process id to' };
const bundle: FlagSpec = { name: 'bundle', alias: 'b', type: 'string', describe: 'path to the root of the bundle directory, defaults to the current directory' };
const preserveFds: FlagSpec = { name: 'preserve-fds', type: 'int', describe: 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)', default: 0 };
const createFlags: FlagSpec[] = [
  bundle,
  consoleSocket,
  pidfdSocket,
  pidFile,
  { name: 'no-pivot', type: 'bool', describe: 'do not use pivot root to jail process inside rootfs' },
  { name: 'no-new-keyring', type: 'bool', describe: 'do not create a new session keyring for the container' },
  preserveFds,
];
const lazy = (m: () => Promise<unknown>) => m as CommandSpec['load'];

export const commands: CommandSpec[] = [
  { name: 'create', usage: 'create [command options] <container-id>', describe: 'create a container', args: 1, flags: createFlags, load: lazy(() => import('./create.js')) },
  {
    name: 'run', usage: 'run [command options] <container-id>', describe: 'create and run a container', args: 1,
    flags: [...createFlags,
      { name: 'detach', alias: 'd', type: 'bool', describe: 'detach from the container\'s process' },
      { name: 'keep', type: 'bool', describe: 'do not delete the container after it exits' }],
    load: lazy(() => import('./run.js')),
  },
  { name: 'start', usage: 'start <container-id>', describe: 'executes the user defined process in a created container', args: 1, flags: [], load: lazy(() => import('./start.js')) },
  { name: 'state', usage: 'state <container-id>', describe: 'output the state of a container', args: 1, flags: [], load: lazy(() => import('./state.js')) },
  {
    name: 'kill', usage: 'kill [command options] <container-id> [signal]', describe: 'kill sends the specified signal (default: SIGTERM) to the container\'s init process', args: [1, 2],
    flags: [{ name: 'all', alias: 'a', type: 'bool', describe: 'send the specified signal to all processes inside the container' }],
    load: lazy(() => import('./kill.js')),
  },
  {
    name: 'delete', usage: 'delete [command options] <container-id>', describe: 'delete any resources held by the container often used with detached container', args: 1,
    flags: [{ name: 'force', alias: 'f', type: 'bool', describe: 'Forcibly deletes the container if it is still running (uses SIGKILL)' }],
    load: lazy(() => import('./delete.js')),
  },
  {
    name: 'list', usage: 'list [command options]', describe: 'lists containers started by runts with the given root', args: 0,
    flags: [
      { name: 'format', alias: 'f', type: 'string', describe: 'select one of: table or json', default: 'table' },
      { name: 'quiet', alias: 'q', type: 'bool', describe: 'display only container IDs' },
    ],
    load: lazy(() => import('./list.js')),
  },
  {
    name: 'ps', usage: 'ps [command options] <container-id> [ps options]', describe: 'ps displays the processes running inside a container', args: [1, Infinity], keepOrder: true,
    flags: [{ name: 'format', alias: 'f', type: 'string', describe: 'select one of: table or json', default: 'table' }],
    load: lazy(() => import('./ps.js')),
  },
  {
    name: 'exec', usage: 'exec [command options] <container-id> <command> [command options]', describe: 'execute new process inside the container', args: [1, Infinity], keepOrder: true,
    flags: [
      consoleSocket, pidfdSocket,
      { name: 'cwd', type: 'string', describe: 'current working directory in the container' },
      { name: 'env', alias: 'e', type: 'strings', describe: 'set environment variables' },
      { name: 'tty', alias: 't', type: 'bool', describe: 'allocate a pseudo-TTY' },
      { name: 'user', alias: 'u', type: 'string', describe: 'UID (format: <uid>[:<gid>])' },
      { name: 'additional-gids', alias: 'g', type: 'strings', describe: 'additional gids' },
      { name: 'process', alias: 'p', type: 'string', describe: 'path to the process.json' },
      { name: 'detach', alias: 'd', type: 'bool', describe: 'detach from the container\'s process' },
      pidFile,
      { name: 'process-label', type: 'string', describe: 'set the asm process label for the process commonly used with selinux' },
      { name: 'apparmor', type: 'string', describe: 'set the apparmor profile for the process' },
      { name: 'no-new-privs', type: 'bool', describe: 'set the no new privileges value for the process' },
      { name: 'cap', alias: 'c', type: 'strings', describe: 'add a capability to the bounding set for the process' },
      preserveFds,
      { name: 'cgroup', type: 'strings', describe: 'run the process in an (existing) sub-cgroup(s)' },
      { name: 'ignore-paused', type: 'bool', describe: 'allow exec in a paused container' },
    ],
    load: lazy(() => import('./exec.js')),
  },
  { name: 'pause', usage: 'pause <container-id>', describe: 'pause suspends all processes inside the container', args: 1, flags: [], load: lazy(() => import('./pause.js')) },
  { name: 'resume', usage: 'resume <container-id>', describe: 'resumes all processes that have been previously paused', args: 1, flags: [], load: lazy(() => import('./resume.js')) },
  {
    name: 'events', usage: 'events [command options] <container-id>', describe: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics', args: 1,
    flags: [
      { name: 'interval', type: 'string', describe: 'set the stats collection interval', default: '5s' },
      { name: 'stats', type: 'bool', describe: 'display the container\'s stats then exit' },
    ],
    load: lazy(() => import('./events.js')),
  },
  {
    name: 'update', usage: 'update [command options] <container-id>', describe: 'update container resource constraints', args: 1,
    flags: [
      { name: 'resources', alias: 'r', type: 'string', describe: 'path to the file containing the resources to update or \'-\' to read from the standard input' },
      ...['blkio-weight', 'cpu-period', 'cpu-quota', 'cpu-burst', 'cpu-rt-period', 'cpu-rt-runtime', 'cpu-share', 'cpuset-cpus', 'cpuset-mems',
        'kernel-memory', 'kernel-memory-tcp', 'memory', 'memory-reservation', 'memory-swap', 'pids-limit', 'l3-cache-schema', 'mem-bw-schema']
        .map((name): FlagSpec => ({ name, type: 'string', describe: `set ${name.replace(/-/g, ' ')}` })),
    ],
    load: lazy(() => import('./update.js')),
  },
  {
    name: 'spec', usage: 'spec [command options]', describe: 'create a new specification file', args: 0,
    flags: [bundle, { name: 'rootless', type: 'bool', describe: 'generate a configuration for a rootless container' }],
    load: lazy(() => import('./spec.js')),
  },
  { name: 'features', usage: 'features', describe: 'show the enabled features', args: 0, flags: [], load: lazy(() => import('./features.js')) },
  {
    name: 'checkpoint', usage: 'checkpoint [command options] <container-id>', describe: 'checkpoint a running container', args: 1,
    flags: [
      ...['image-path', 'work-path', 'parent-path', 'page-server', 'manage-cgroups-mode', 'status-fd'].map((name): FlagSpec => ({ name, type: 'string', describe: name })),
      ...['leave-running', 'tcp-established', 'ext-unix-sk', 'shell-job', 'lazy-pages', 'file-locks', 'pre-dump', 'auto-dedup'].map((name): FlagSpec => ({ name, type: 'bool', describe: name })),
      { name: 'empty-ns', type: 'strings', describe: 'create a namespace, but don\'t restore its properties' },
    ],
    load: lazy(() => import('./not-implemented.js')),
  },
  {
    name: 'restore', usage: 'restore [command options] <container-id>', describe: 'restore a container from a previous checkpoint', args: 1,
    flags: [
      bundle, consoleSocket, pidFile,
      ...['image-path', 'work-path', 'manage-cgroups-mode', 'lsm-profile', 'lsm-mount-context'].map((name): FlagSpec => ({ name, type: 'string', describe: name })),
      ...['tcp-established', 'ext-unix-sk', 'shell-job', 'file-locks', 'detach', 'no-subreaper', 'no-pivot', 'auto-dedup', 'lazy-pages'].map((name): FlagSpec => ({ name, type: 'bool', describe: name })),
      { name: 'empty-ns', type: 'strings', describe: 'create a namespace, but don\'t restore its properties' },
    ],
    load: lazy(() => import('./not-implemented.js')),
  },
];
