/**
 * The x86-64 Linux ABI that runts hard-codes: system call numbers (for the
 * calls glibc has no wrapper for), ioctl request numbers and the layouts of
 * the structs runts fills in native memory. Everything here differs, or may
 * differ, on another architecture; the rest of src/linux/ takes it from
 * this one module. A port to another architecture adds a module of the
 * same shape and picks it in arch.ts.
 *
 * Pure data: importing it loads nothing native (unit tests read it).
 */

/** The kernel's name for the architecture (uname -m). */
export const ARCH = 'x86_64';
/** Node's name for it (process.arch). */
export const NODE_ARCH = 'x64';

/** System call numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
export const SYSCALL = {
  pivot_root: 155,
  keyctl: 250,
  ioprio_set: 251,
  sched_setattr: 314,
  seccomp: 317,
  bpf: 321,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  pidfd_open: 434,
  openat2: 437,
  mount_setattr: 442,
} as const;
export type SyscallName = keyof typeof SYSCALL;

/** ioctl request numbers (encoded with the direction and size bits of asm-generic/ioctl.h). */
export const IOCTL = {
  TIOCSCTTY: 0x540e,
  TIOCSWINSZ: 0x5414,
  /** _IOW('T', 0x31, int) */
  TIOCSPTLCK: 0x40045431,
  /** _IOR('T', 0x30, unsigned int) */
  TIOCGPTN: 0x80045430,
  SIOCGIFFLAGS: 0x8913,
  SIOCSIFFLAGS: 0x8914,
  /** _IO(0xb7, 0x3) */
  NS_GET_NSTYPE: 0xb703,
} as const;

/**
 * glibc's ucontext_t (sizeof 968 on glibc >= 2.28; reserved with room to
 * spare): the offsets the clone chain writes after getcontext().
 */
export const UCONTEXT = {
  SIZE: 1024,
  /** struct ucontext_t *uc_link */
  LINK: 8,
  /** stack_t uc_stack: void *ss_sp, int ss_flags, size_t ss_size */
  STACK_SP: 16,
  STACK_FLAGS: 24,
  STACK_SIZE: 32,
} as const;

/** glibc's struct termios is 60 bytes on x86-64; reserved with room to spare. */
export const TERMIOS_SIZE = 64;

/** struct statfs (120 bytes, reserved as 128): the first field is long f_type. */
export const STATFS = { SIZE: 128, F_TYPE: 0 } as const;

/** struct open_how { u64 flags; u64 mode; u64 resolve; } of openat2(2). */
export const OPEN_HOW = { SIZE: 24, FLAGS: 0, MODE: 8, RESOLVE: 16 } as const;

/** struct sched_attr, SCHED_ATTR_SIZE_VER1 (no utilization clamps). */
export const SCHED_ATTR = {
  SIZE: 56,
  POLICY: 4,
  FLAGS: 8,
  NICE: 16,
  PRIORITY: 20,
  RUNTIME: 24,
  DEADLINE: 32,
  PERIOD: 40,
} as const;

/** struct sock_fprog { unsigned short len; struct sock_filter *filter; } of seccomp(2). */
export const SOCK_FPROG = { SIZE: 16, LEN: 0, FILTER: 8 } as const;
