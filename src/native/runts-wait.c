/*
 * runts-wait: the last step of a container's init, without Node.
 *
 * The init (a Node process, src/init/init.ts) builds the container, reports
 * `ready` to create, sets the process's credentials, capabilities, limits,
 * cwd and stdio, and then, instead of waiting for `start` as a 40 MB Node
 * process, execs this program (a sealed memfd copy made by create, so no
 * host file is reachable through /proc/<pid>/exe). It waits as runc's init
 * waits, in a few pages of memory and one thread:
 *
 *   prctl(PR_SET_DUMPABLE, 0)                 as runc's waiting init
 *   open("/proc/self/fd/FIFO_FD", O_WRONLY)   blocks until `start` opens
 *                                              exec.fifo for reading
 *   write "0"; close both fifo fds
 *   seccomp(SET_MODE_FILTER, FLAGS, prog)      the filter read from BPF_FD,
 *                                              when no_new_privs asks for it
 *                                              as late as possible (runc)
 *   execve(PATH, ARGS, environ)
 *
 * usage: runts-wait FIFO_FD BPF_FD SECCOMP_FLAGS PATH ARG0 [ARG...]
 * (BPF_FD -1: no filter to load). The environment is the container
 * process's, passed through untouched.
 *
 * Freestanding (no libc): nothing to load after pivot_root, nothing that
 * allocates, a program of a few kilobytes. Errors go to stderr, as the
 * Node init's do once `ready` is sent, and end it with status 255.
 * Built by scripts/build.mjs with the system's C compiler into
 * dist/runts-wait; without one, the init waits in Node as before.
 */

#if !defined(__x86_64__)
#error "runts-wait: only x86-64 syscalls are written here"
#endif

typedef unsigned long size_t;

#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_execve 59
#define SYS_prctl 157
#define SYS_exit_group 231
#define SYS_openat 257
#define SYS_seccomp 317

#define PR_SET_DUMPABLE 4
#define AT_FDCWD -100
#define O_WRONLY 01
#define O_CLOEXEC 02000000
#define SECCOMP_SET_MODE_FILTER 1
#define EINTR 4
/* The kernel takes at most 4096 instructions of 8 bytes. */
#define BPF_MAX_BYTES (4096 * 8)

static long syscall3(long n, long a, long b, long c) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return ret;
}

static long syscall4(long n, long a, long b, long c, long d) {
  long ret;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
}

static size_t length(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static void put(const char *s) { syscall3(SYS_write, 2, (long)s, (long)length(s)); }

static const char *errno_name(long e) {
  switch (e) {
    case 1: return "operation not permitted";
    case 2: return "no such file or directory";
    case 4: return "interrupted system call";
    case 7: return "argument list too long";
    case 8: return "exec format error";
    case 12: return "cannot allocate memory";
    case 13: return "permission denied";
    case 14: return "bad address";
    case 20: return "not a directory";
    case 22: return "invalid argument";
    case 24: return "too many open files";
    case 26: return "text file busy";
    case 40: return "too many levels of symbolic links";
    default: return 0;
  }
}

static void die(const char *what, const char *arg, long err) {
  char num[24];
  int i = sizeof(num) - 1;
  unsigned long e = (unsigned long)err;
  num[i] = 0;
  do num[--i] = (char)('0' + e % 10); while ((e /= 10) && i > 0);
  const char *name = errno_name(err);
  put("runts init: ");
  put(what);
  if (arg) {
    put(" ");
    put(arg);
  }
  put(": ");
  put(name ? name : "errno ");
  if (!name) put(num + i);
  put("\n");
  syscall3(SYS_exit_group, 255, 0, 0);
  for (;;) {}
}

/* A decimal argument; -1 for "none". */
static long number(const char *s) {
  long sign = 1, n = 0;
  if (*s == '-') {
    sign = -1;
    s++;
  }
  if (!*s) die("bad argument", s, 22);
  for (; *s; s++) {
    if (*s < '0' || *s > '9') die("bad argument", s, 22);
    n = n * 10 + (*s - '0');
  }
  return sign * n;
}

static unsigned char bpf[BPF_MAX_BYTES];

struct sock_fprog {
  unsigned short len;
  const void *filter;
};

__attribute__((used)) void wait_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  /* As runc's init until its execve: no process of the container may open
     our /proc/<pid>/fd/ (the fifo fd would let it start the container).
     The execve below makes the process dumpable again. */
  syscall3(SYS_prctl, PR_SET_DUMPABLE, 0, 0);
  if (argc < 6) die("usage: runts-wait FIFO_FD BPF_FD SECCOMP_FLAGS PATH ARG0 [ARG...]", 0, 22);
  const char *fifo_arg = argv[1];
  long fifo_fd = number(fifo_arg);
  long bpf_fd = number(argv[2]);
  long flags = number(argv[3]);

  /* Read the filter first: nothing of it can fail after `start`'s byte. */
  size_t size = 0;
  if (bpf_fd >= 0) {
    for (;;) {
      long n = syscall3(SYS_read, bpf_fd, (long)(bpf + size), (long)(sizeof(bpf) - size));
      if (n == -EINTR) continue;
      if (n < 0) die("read seccomp filter", 0, -n);
      if (n == 0) break;
      size += (size_t)n;
      if (size == sizeof(bpf)) break;
    }
    syscall3(SYS_close, bpf_fd, 0, 0);
    if (size == 0 || size % 8 != 0) die("read seccomp filter", 0, 22);
  }

  char path[32] = "/proc/self/fd/";
  size_t at = length(path), k = 0;
  while (fifo_arg[k] && at < sizeof(path) - 1) path[at++] = fifo_arg[k++];
  path[at] = 0;
  long fifo;
  do fifo = syscall4(SYS_openat, AT_FDCWD, (long)path, O_WRONLY | O_CLOEXEC, 0);
  while (fifo == -EINTR);
  if (fifo < 0) die("open exec fifo", 0, -fifo);
  long w = syscall3(SYS_write, fifo, (long)"0", 1);
  if (w < 0) die("write exec fifo", 0, -w);
  syscall3(SYS_close, fifo, 0, 0);
  syscall3(SYS_close, fifo_fd, 0, 0);

  if (size > 0) {
    struct sock_fprog prog = {(unsigned short)(size / 8), bpf};
    long r = syscall3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, (long)&prog);
    if (r < 0) die("load seccomp filter", 0, -r);
  }
  long e = syscall3(SYS_execve, (long)argv[4], (long)(argv + 5), (long)envp);
  die("exec", argv[4], -e);
}

/* The kernel enters here with argc, argv, NULL, envp, NULL, auxv on the stack. */
__asm__(
    ".text\n"
    ".global _start\n"
    "_start:\n"
    "  xor %rbp, %rbp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call wait_main\n"
    "  hlt\n");
