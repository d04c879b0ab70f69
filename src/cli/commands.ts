/**
 * runc's command-line surface, declared as data. The fast parser (argv.ts)
 * runs every invocation from this table; yargs (help.ts) renders --help from
 * the same table. Handlers are imported lazily so that `runts state` loads
 * nothing but what it needs.
 */
import type { FlagValues } from './argv.js';
import { defaultStateRoot } from './rootless.js';
import type { CommandContext, RawCommandContext } from './context.js';

export type FlagType = 'bool' | 'string' | 'int' | 'strings';

export interface FlagSpec {
  readonly name: string;
  readonly alias?: string;
  readonly type: FlagType;
  readonly describe: string;
  readonly default?: string | number | boolean;
}

/** The value the parser gives a flag of each type. */
type FlagValue<T extends FlagType> = T extends 'bool'
  ? boolean
  : T extends 'int'
    ? number
    : T extends 'strings'
      ? string[]
      : string;
/** `pid-file` → `pidFile`. */
type CamelCase<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;

/**
 * A command's options as its handler receives them, derived from the flags
 * the table declares: camelCase names, a value of the flag's type, always
 * present when the flag has a default. A flag missing from the table is a
 * type error in its handler.
 */
export type Options<F extends readonly FlagSpec[]> = {
  [S in F[number] as CamelCase<S['name']>]: S extends { default: string | number | boolean }
    ? FlagValue<S['type']>
    : FlagValue<S['type']> | undefined;
};

export interface CommandSpec {
  name: string;
  usage: string;
  describe: string;
  /** Exact positional count, or [min, max] (max Infinity for "rest"). */
  args: number | [number, number];
  flags: readonly FlagSpec[];
  /** Flags only before the first positional (runc's SkipArgReorder: exec, ps pass the rest on). */
  keepOrder?: boolean;
  load: () => Promise<{ run: (ctx: RawCommandContext) => Promise<number> | number }>;
}

type Handler<F extends readonly FlagSpec[]> = (ctx: CommandContext<Options<F>>) => Promise<number> | number;

/**
 * One row of the table: the handler is loaded lazily and given its options
 * typed from the row's own flags.
 */
function command<const F extends readonly FlagSpec[]>(
  row: Omit<CommandSpec, 'flags' | 'load'> & { flags: F; load: () => Promise<{ run: Handler<F> }> },
): CommandSpec {
  return {
    ...row,
    load: async () => {
      const { run } = await row.load();
      return { run: ({ values, ...ctx }) => run({ ...ctx, options: toOptions(row.flags, values) }) };
    },
  };
}

function camelCase(name: string): string {
  return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * The parser's values under their camelCase names. The parser gives each
 * declared flag a value of its declared type (argv.ts), which is what
 * Options<F> states: the one place where that is taken on trust.
 */
export function toOptions<F extends readonly FlagSpec[]>(flags: F, values: FlagValues): Options<F> {
  const options: Record<string, FlagValues[string]> = {};
  for (const f of flags) options[camelCase(f.name)] = values[f.name];
  return options as Options<F>;
}

export const globalFlags = [
  {
    name: 'root',
    type: 'string',
    describe: 'root directory for storage of container state',
    default: defaultStateRoot(),
  },
  { name: 'log', type: 'string', describe: 'set the log file to write runts logs to (default is stderr)' },
  { name: 'log-format', type: 'string', describe: 'set the log format ("text" or "json")', default: 'text' },
  { name: 'debug', type: 'bool', describe: 'enable debug logging' },
  { name: 'systemd-cgroup', type: 'bool', describe: 'enable systemd cgroup support' },
  {
    name: 'rootless',
    type: 'string',
    describe: 'ignore cgroup permission errors ("true", "false", or "auto")',
    default: 'auto',
  },
  {
    name: 'criu',
    type: 'string',
    describe: 'path to the criu binary used for checkpoint and restore (accepted, not used)',
  },
  { name: 'version', alias: 'v', type: 'bool', describe: 'print the version' },
  { name: 'help', alias: 'h', type: 'bool', describe: 'show help' },
] as const satisfies readonly FlagSpec[];

const consoleSocket = {
  name: 'console-socket',
  type: 'string',
  describe:
    "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal",
} as const;
const pidfdSocket = {
  name: 'pidfd-socket',
  type: 'string',
  describe: 'path to an AF_UNIX socket which will receive a pidfd of the container process',
} as const;
const pidFile = {
  name: 'pid-file',
  type: 'string',
  describe: 'specify the file to write the process id to',
} as const;
const bundle = {
  name: 'bundle',
  alias: 'b',
  type: 'string',
  describe: 'path to the root of the bundle directory, defaults to the current directory',
} as const;
const preserveFds = {
  name: 'preserve-fds',
  type: 'int',
  describe: 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)',
  default: 0,
} as const;
const createFlags = [
  bundle,
  consoleSocket,
  pidfdSocket,
  pidFile,
  { name: 'no-pivot', type: 'bool', describe: 'do not use pivot root to jail process inside rootfs' },
  { name: 'no-new-keyring', type: 'bool', describe: 'do not create a new session keyring for the container' },
  preserveFds,
] as const;
const runFlags = [
  ...createFlags,
  { name: 'detach', alias: 'd', type: 'bool', describe: "detach from the container's process" },
  { name: 'keep', type: 'bool', describe: 'do not delete the container after it exits' },
] as const;
const execFlags = [
  consoleSocket,
  pidfdSocket,
  { name: 'cwd', type: 'string', describe: 'current working directory in the container' },
  { name: 'env', alias: 'e', type: 'strings', describe: 'set environment variables' },
  { name: 'tty', alias: 't', type: 'bool', describe: 'allocate a pseudo-TTY' },
  { name: 'user', alias: 'u', type: 'string', describe: 'UID (format: <uid>[:<gid>])' },
  { name: 'additional-gids', alias: 'g', type: 'strings', describe: 'additional gids' },
  { name: 'process', alias: 'p', type: 'string', describe: 'path to the process.json' },
  { name: 'detach', alias: 'd', type: 'bool', describe: "detach from the container's process" },
  pidFile,
  {
    name: 'process-label',
    type: 'string',
    describe: 'set the asm process label for the process commonly used with selinux',
  },
  { name: 'apparmor', type: 'string', describe: 'set the apparmor profile for the process' },
  { name: 'no-new-privs', type: 'bool', describe: 'set the no new privileges value for the process' },
  {
    name: 'cap',
    alias: 'c',
    type: 'strings',
    describe: 'add a capability to the bounding set for the process',
  },
  preserveFds,
  { name: 'cgroup', type: 'strings', describe: 'run the process in an (existing) sub-cgroup(s)' },
  { name: 'ignore-paused', type: 'bool', describe: 'allow exec in a paused container' },
] as const;
/** runc's update flags: each a string, parsed by the command (Go's flag types). */
const updateFlags = [
  {
    name: 'resources',
    alias: 'r',
    type: 'string',
    describe: "path to the file containing the resources to update or '-' to read from the standard input",
  },
  ...(
    [
      'blkio-weight',
      'cpu-period',
      'cpu-quota',
      'cpu-burst',
      'cpu-rt-period',
      'cpu-rt-runtime',
      'cpu-share',
      'cpuset-cpus',
      'cpuset-mems',
      'kernel-memory',
      'kernel-memory-tcp',
      'memory',
      'memory-reservation',
      'memory-swap',
      'pids-limit',
      'l3-cache-schema',
      'mem-bw-schema',
    ] as const
  ).map((name) => ({ name, type: 'string' as const, describe: `set ${name.replace(/-/g, ' ')}` })),
] as const;
const killFlags = [
  {
    name: 'all',
    alias: 'a',
    type: 'bool',
    describe: 'send the specified signal to all processes inside the container',
  },
] as const;
const deleteFlags = [
  {
    name: 'force',
    alias: 'f',
    type: 'bool',
    describe: 'Forcibly deletes the container if it is still running (uses SIGKILL)',
  },
] as const;
const psFlags = [
  { name: 'format', alias: 'f', type: 'string', describe: 'select one of: table or json', default: 'table' },
] as const;
const specFlags = [
  bundle,
  { name: 'rootless', type: 'bool', describe: 'generate a configuration for a rootless container' },
] as const;
const listFlags = [
  { name: 'format', alias: 'f', type: 'string', describe: 'select one of: table or json', default: 'table' },
  { name: 'quiet', alias: 'q', type: 'bool', describe: 'display only container IDs' },
] as const;
const eventsFlags = [
  { name: 'interval', type: 'string', describe: 'set the stats collection interval', default: '5s' },
  { name: 'stats', type: 'bool', describe: "display the container's stats then exit" },
] as const;

export type CreateOptions = Options<typeof createFlags>;
export type RunOptions = Options<typeof runFlags>;
export type ExecOptions = Options<typeof execFlags>;
export type UpdateOptions = Options<typeof updateFlags>;
export type KillOptions = Options<typeof killFlags>;
export type DeleteOptions = Options<typeof deleteFlags>;
export type ListOptions = Options<typeof listFlags>;
export type PsOptions = Options<typeof psFlags>;
export type EventsOptions = Options<typeof eventsFlags>;
export type SpecOptions = Options<typeof specFlags>;

export const commands: CommandSpec[] = [
  command({
    name: 'create',
    usage: 'create [command options] <container-id>',
    describe: 'create a container',
    args: 1,
    flags: createFlags,
    load: () => import('./create.js'),
  }),
  command({
    name: 'run',
    usage: 'run [command options] <container-id>',
    describe: 'create and run a container',
    args: 1,
    flags: runFlags,
    load: () => import('./run.js'),
  }),
  command({
    name: 'start',
    usage: 'start <container-id>',
    describe: 'executes the user defined process in a created container',
    args: 1,
    flags: [],
    load: () => import('./start.js'),
  }),
  command({
    name: 'state',
    usage: 'state <container-id>',
    describe: 'output the state of a container',
    args: 1,
    flags: [],
    load: () => import('./state.js'),
  }),
  command({
    name: 'kill',
    usage: 'kill [command options] <container-id> [signal]',
    describe: "kill sends the specified signal (default: SIGTERM) to the container's init process",
    args: [1, 2],
    flags: killFlags,
    load: () => import('./kill.js'),
  }),
  command({
    name: 'delete',
    usage: 'delete [command options] <container-id>',
    describe: 'delete any resources held by the container often used with detached container',
    args: 1,
    flags: deleteFlags,
    load: () => import('./delete.js'),
  }),
  command({
    name: 'list',
    usage: 'list [command options]',
    describe: 'lists containers started by runts with the given root',
    args: 0,
    flags: listFlags,
    load: () => import('./list.js'),
  }),
  command({
    name: 'ps',
    usage: 'ps [command options] <container-id> [ps options]',
    describe: 'ps displays the processes running inside a container',
    args: [1, Infinity],
    keepOrder: true,
    flags: psFlags,
    load: () => import('./ps.js'),
  }),
  command({
    name: 'exec',
    usage: 'exec [command options] <container-id> <command> [command options]',
    describe: 'execute new process inside the container',
    args: [1, Infinity],
    keepOrder: true,
    flags: execFlags,
    load: () => import('./exec.js'),
  }),
  command({
    name: 'pause',
    usage: 'pause <container-id>',
    describe: 'pause suspends all processes inside the container',
    args: 1,
    flags: [],
    load: () => import('./pause.js'),
  }),
  command({
    name: 'resume',
    usage: 'resume <container-id>',
    describe: 'resumes all processes that have been previously paused',
    args: 1,
    flags: [],
    load: () => import('./resume.js'),
  }),
  command({
    name: 'events',
    usage: 'events [command options] <container-id>',
    describe: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
    args: 1,
    flags: eventsFlags,
    load: () => import('./events.js'),
  }),
  command({
    name: 'update',
    usage: 'update [command options] <container-id>',
    describe: 'update container resource constraints',
    args: 1,
    flags: updateFlags,
    load: () => import('./update.js'),
  }),
  command({
    name: 'spec',
    usage: 'spec [command options]',
    describe: 'create a new specification file',
    args: 0,
    flags: specFlags,
    load: () => import('./spec.js'),
  }),
  command({
    name: 'features',
    usage: 'features',
    describe: 'show the enabled features',
    args: 0,
    flags: [],
    load: () => import('./features.js'),
  }),
  command({
    name: 'checkpoint',
    usage: 'checkpoint [command options] <container-id>',
    describe: 'checkpoint a running container',
    args: 1,
    flags: [
      ...['image-path', 'work-path', 'parent-path', 'page-server', 'manage-cgroups-mode', 'status-fd'].map(
        (name) => ({ name, type: 'string' as const, describe: name }),
      ),
      ...[
        'leave-running',
        'tcp-established',
        'ext-unix-sk',
        'shell-job',
        'lazy-pages',
        'file-locks',
        'pre-dump',
        'auto-dedup',
      ].map((name) => ({ name, type: 'bool' as const, describe: name })),
      { name: 'empty-ns', type: 'strings', describe: "create a namespace, but don't restore its properties" },
    ],
    load: () => import('./not-implemented.js'),
  }),
  command({
    name: 'restore',
    usage: 'restore [command options] <container-id>',
    describe: 'restore a container from a previous checkpoint',
    args: 1,
    flags: [
      bundle,
      consoleSocket,
      pidFile,
      ...['image-path', 'work-path', 'manage-cgroups-mode', 'lsm-profile', 'lsm-mount-context'].map(
        (name) => ({ name, type: 'string' as const, describe: name }),
      ),
      ...[
        'tcp-established',
        'ext-unix-sk',
        'shell-job',
        'file-locks',
        'detach',
        'no-subreaper',
        'no-pivot',
        'auto-dedup',
        'lazy-pages',
      ].map((name) => ({ name, type: 'bool' as const, describe: name })),
      { name: 'empty-ns', type: 'strings', describe: "create a namespace, but don't restore its properties" },
    ],
    load: () => import('./not-implemented.js'),
  }),
];
