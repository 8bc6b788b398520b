/*
 * capctl kernel-differential generator.
 *
 * From a seed, drives a random sequence of the syscalls capctl's runtime models on the live
 * kernel, so that a trace of it under `strace -f` can be replayed and every predicted result
 * compared with what the kernel did. Built with gcc at test time (test/kernel/kernel.test.ts).
 *
 *   gen SEED STEPS TMPDIR [EXEC_TARGET...]
 *
 * TMPDIR is a private directory (mode 01777) for device nodes and chroot. EXEC_TARGET are
 * copies of this binary (some carrying file capabilities); the generator may execve one of
 * them to continue the sequence in a new image, reading its security.capability first with
 * getxattr so the trace tells replay what the file grants.
 *
 * Safety: everything that would change the machine either fails by design or is confined —
 * device nodes are created in TMPDIR and unlinked; chroot happens in a child that exits right
 * after; sethostname runs only in a child that first succeeded at unshare(CLONE_NEWUTS);
 * kill only sends signal 0 or targets this program's own children; bind uses 127.0.0.1 and
 * closes at once. Nothing writes to stdout/stderr (strace may be writing there).
 *
 * All credential syscalls are raw syscall(2)s: glibc's wrappers would broadcast set*id to
 * every thread, and the point of the threads here is that credentials are per thread.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_TARGETS 16

static const char *tmpdir;
static const char *targets[MAX_TARGETS];
static int ntargets;
static unsigned long long seed0;
static int exec_depth;
static pid_t reaped[8];
static int nreaped;

/* xorshift64*: per-thread state so threads do not race on one generator. */
static __thread uint64_t rs;
static uint64_t rnd(void) {
  rs ^= rs >> 12;
  rs ^= rs << 25;
  rs ^= rs >> 27;
  return rs * 2685821657736338717ULL;
}
static int pick(int n) { return (int)(rnd() % (uint64_t)n); }
static int chance(int pct) { return pick(100) < pct; }

static long sys_gettid(void) { return syscall(SYS_gettid); }

static const uint32_t versions[] = {_LINUX_CAPABILITY_VERSION_1, _LINUX_CAPABILITY_VERSION_2,
                                    _LINUX_CAPABILITY_VERSION_3, _LINUX_CAPABILITY_VERSION_3,
                                    _LINUX_CAPABILITY_VERSION_3, 0, 0x12345678};
static uint32_t any_version(void) { return versions[pick(sizeof versions / sizeof versions[0])]; }

/* A capability number, usually valid, sometimes just past the end or wild. */
static unsigned long any_cap(void) {
  int r = pick(20);
  if (r == 0) return 41;
  if (r == 1) return (unsigned long)-1;
  if (r == 2) return 63;
  static const int common[] = {0, 5, 6, 7, 8, 10, 13, 18, 21, 24, 27, 31, 32, 40};
  if (r < 12) return (unsigned long)common[pick(sizeof common / sizeof common[0])];
  return (unsigned long)pick(41);
}

static const uint32_t uids[] = {0, 0, 1000, 2000, (uint32_t)-1, (uint32_t)-1};
static uint32_t any_uid(void) { return uids[pick(sizeof uids / sizeof uids[0])]; }

static void read_caps(struct __user_cap_data_struct d[2]) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  memset(d, 0, 2 * sizeof d[0]);
  syscall(SYS_capget, &h, d);
}

/* Mutate one 32-bit word of a set: keep, clear, drop a bit, add a bit, or random. */
static uint32_t mutate(uint32_t v, int hi) {
  switch (pick(7)) {
  case 0:
    return 0;
  case 1:
    return v & ~(1u << pick(hi ? 9 : 32));
  case 2:
    return v | (1u << pick(hi ? 9 : 32));
  case 3:
    return (uint32_t)rnd() & (hi ? (chance(10) ? 0xffffffffu : 0x1ffu) : 0xffffffffu);
  case 4:
    return v & (uint32_t)rnd();
  default:
    return v;
  }
}

static pid_t other_pid(pid_t peer) {
  switch (pick(7)) {
  case 0:
    return 0;
  case 1:
    return (pid_t)sys_gettid();
  case 2:
    return getpid();
  case 3:
    return -1;
  case 4:
    return nreaped ? reaped[pick(nreaped)] : 0;
  default:
    return peer > 0 ? peer : 0;
  }
}

static void op_capget(pid_t peer) {
  struct __user_cap_header_struct h = {any_version(), other_pid(peer)};
  struct __user_cap_data_struct d[2];
  if (chance(15)) syscall(SYS_capget, &h, NULL);
  else if (chance(3)) syscall(SYS_capget, NULL, d);
  else syscall(SYS_capget, &h, d);
}

static void op_capset(pid_t peer) {
  struct __user_cap_data_struct d[2];
  read_caps(d);
  struct __user_cap_header_struct h = {chance(85) ? _LINUX_CAPABILITY_VERSION_3 : any_version(), 0};
  if (chance(12)) h.pid = other_pid(peer);
  for (int i = 0; i < 2; i++) {
    if (chance(50)) d[i].inheritable = mutate(d[i].inheritable, i);
    if (chance(50)) d[i].permitted = mutate(d[i].permitted, i);
    if (chance(60)) d[i].effective = mutate(d[i].effective, i);
    if (chance(40)) d[i].effective &= d[i].permitted;
  }
  if (chance(4)) syscall(SYS_capset, &h, NULL);
  else syscall(SYS_capset, &h, d);
}

static void op_prctl(void) {
  static const unsigned long secbits[] = {0, 0x1, 0x4, 0x10, 0x14, 0x40, 0x100, 0x400, 0x500, 0x2f, 0x30, 0x80, 0xc0, 0xfff, 0x1000, 0x155};
  unsigned long junk = chance(80) ? 0 : (unsigned long)pick(3);
  switch (pick(12)) {
  case 0:
    prctl(PR_CAPBSET_READ, any_cap(), junk, 0, 0);
    break;
  case 1:
    if (chance(30)) prctl(PR_CAPBSET_DROP, any_cap(), 0, 0, 0);
    else prctl(PR_CAPBSET_READ, any_cap(), 0, 0, 0);
    break;
  case 2:
    prctl(PR_GET_KEEPCAPS, junk, 0, 0, 0);
    break;
  case 3:
    prctl(PR_SET_KEEPCAPS, chance(85) ? (unsigned long)pick(2) : (unsigned long)pick(4), junk, 0, 0);
    break;
  case 4:
    prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    break;
  case 5: {
    unsigned long cur = (unsigned long)prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    unsigned long v = chance(50) ? (cur ^ secbits[pick(sizeof secbits / sizeof secbits[0])]) & 0x1fff
                                 : secbits[pick(sizeof secbits / sizeof secbits[0])];
    /* Locks freeze bits for the rest of the run; keep them rare. */
    if (chance(80)) v &= ~0xaaaUL;
    prctl(PR_SET_SECUREBITS, v, 0, 0, 0);
    break;
  }
  case 6:
    if (chance(15)) prctl(PR_SET_NO_NEW_PRIVS, chance(80) ? 1 : (unsigned long)pick(3), junk, 0, 0);
    else prctl(PR_GET_NO_NEW_PRIVS, junk, 0, 0, 0);
    break;
  case 7:
  case 8:
  case 9: {
    static const unsigned long ops[] = {PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_RAISE, PR_CAP_AMBIENT_RAISE,
                                        PR_CAP_AMBIENT_LOWER, PR_CAP_AMBIENT_CLEAR_ALL, 0, 9};
    unsigned long op = ops[pick(sizeof ops / sizeof ops[0])];
    unsigned long cap = op == PR_CAP_AMBIENT_CLEAR_ALL ? junk : any_cap();
    prctl(PR_CAP_AMBIENT, op, cap, chance(95) ? 0 : 1, chance(95) ? 0 : 1);
    break;
  }
  case 10:
    prctl(PR_SET_NAME, "gen", 0, 0, 0); /* not modelled: must be skipped */
    break;
  default:
    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    break;
  }
}

static void op_ids(void) {
  uint32_t a = any_uid(), b = any_uid(), c = any_uid();
  switch (pick(11)) {
  case 0:
    syscall(SYS_setuid, a == (uint32_t)-1 ? 0 : a);
    break;
  case 1:
    syscall(SYS_setreuid, a, b);
    break;
  case 2:
    syscall(SYS_setresuid, a, b, c);
    break;
  case 3:
    /* glibc's wrapper: every thread of the process runs the same setresuid (a SIGSETXID
     * broadcast interrupts parked threads); glibc aborts if a thread disagrees */
    if (chance(25)) setresuid(a, b, c);
    else syscall(SYS_setresuid, a, b, c);
    break;
  case 4:
    syscall(SYS_setfsuid, a);
    break;
  case 5:
    syscall(SYS_setgid, a == (uint32_t)-1 ? 0 : a);
    break;
  case 6:
    syscall(SYS_setregid, a, b);
    break;
  case 7:
    syscall(SYS_setresgid, a, b, c);
    break;
  case 8:
    syscall(SYS_setfsgid, a);
    break;
  case 9: {
    gid_t g[3] = {1000, 3000, 0};
    syscall(SYS_setgroups, pick(4), g);
    break;
  }
  default:
    syscall(SYS_getpid);
    break;
  }
}

static void op_priv(pid_t peer) {
  switch (pick(6)) {
  case 0: {
    static const int fam[] = {AF_INET, AF_INET6, AF_PACKET, AF_INET};
    int f = fam[pick(4)];
    int s = socket(f, SOCK_RAW | (chance(50) ? SOCK_CLOEXEC : 0), f == AF_PACKET ? 0 : IPPROTO_ICMP);
    if (s >= 0) close(s);
    break;
  }
  case 1: {
    char p[512];
    snprintf(p, sizeof p, "%s/n%ld", tmpdir, sys_gettid());
    static const mode_t kinds[] = {S_IFCHR, S_IFBLK, S_IFIFO, S_IFREG};
    mode_t k = kinds[pick(4)];
    int r = chance(50) ? mknod(p, k | 0600, makedev(1, 3)) : mknodat(AT_FDCWD, p, k | 0600, makedev(1, 3));
    if (r == 0) unlink(p);
    break;
  }
  case 2: {
    int s = socket(AF_INET, chance(50) ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (s < 0) break;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(chance(70) ? (uint16_t)(600 + pick(300)) : (uint16_t)(20000 + pick(20000)));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof a);
    close(s);
    break;
  }
  case 3:
    if (peer > 0) kill(peer, 0);
    else kill(getpid(), 0);
    break;
  case 4: {
    /* chroot and sethostname only in a throwaway child; sethostname only inside its own UTS ns. */
    pid_t c = fork();
    if (c == 0) {
      if (chance(50)) {
        syscall(SYS_chroot, tmpdir);
      } else if (syscall(SYS_unshare, CLONE_NEWUTS) == 0) {
        syscall(SYS_sethostname, "capctl-gen", 10);
      } else {
        syscall(SYS_getpid);
      }
      _exit(0);
    }
    if (c > 0) waitpid(c, NULL, 0);
    break;
  }
  default:
    /* a reaped child: ESRCH, whoever asks; else chroot to a missing directory (ENOENT, which
     * comes before the capability check and is outside the model) */
    if (nreaped && chance(80)) kill(reaped[pick(nreaped)], 0);
    else syscall(SYS_chroot, "/nonexistent-capctl-dir");
    break;
  }
}

static void run(int steps, pid_t peer, int allow_tasks);

/* A peer: a child or thread that changes its own credential, then parks until released, so
 * this task can look at it (capget), fail to change it (capset) and signal it (kill 0). */
struct peer {
  int ready[2], go[2];
  uint64_t seed;
  pid_t tid;
};

static void *peer_thread(void *arg) {
  struct peer *p = arg;
  rs = p->seed;
  p->tid = (pid_t)sys_gettid();
  run(3 + pick(5), 0, 0);
  char ch = 1;
  write(p->ready[1], &ch, 1);
  read(p->go[0], &ch, 1);
  run(pick(3), 0, 0);
  return NULL;
}

static void op_peer_thread(void) {
  struct peer p;
  if (pipe(p.ready) || pipe(p.go)) return;
  p.seed = rnd() | 1;
  pthread_t t;
  if (pthread_create(&t, NULL, peer_thread, &p) == 0) {
    char ch;
    read(p.ready[0], &ch, 1);
    run(2 + pick(4), p.tid, 0);
    write(p.go[1], &ch, 1);
    pthread_join(t, NULL);
  }
  close(p.ready[0]), close(p.ready[1]), close(p.go[0]), close(p.go[1]);
}

static void op_peer_child(void) {
  struct peer p;
  if (pipe(p.ready) || pipe(p.go)) return;
  uint64_t s = rnd() | 1;
  pid_t c = fork();
  if (c == 0) {
    rs = s;
    run(3 + pick(6), getppid(), 0);
    char ch = 1;
    write(p.ready[1], &ch, 1);
    read(p.go[0], &ch, 1);
    _exit(0);
  }
  if (c > 0) {
    char ch;
    read(p.ready[0], &ch, 1);
    run(2 + pick(4), c, 0);
    write(p.go[1], &ch, 1);
    waitpid(c, NULL, 0);
    if (nreaped < 8) reaped[nreaped++] = c;
  }
  close(p.ready[0]), close(p.ready[1]), close(p.go[0]), close(p.go[1]);
}

struct exec_args {
  uint64_t seed;
  int steps;
};

static void do_exec(int steps) {
  if (ntargets == 0) return;
  const char *t = targets[pick(ntargets)];
  char buf[64];
  getxattr(t, "security.capability", buf, sizeof buf);
  char seedbuf[32], stepbuf[16], depthbuf[16];
  snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)(rnd() | 1));
  snprintf(stepbuf, sizeof stepbuf, "%d", steps);
  snprintf(depthbuf, sizeof depthbuf, "%d", exec_depth + 1);
  char *argv[MAX_TARGETS + 8];
  int n = 0;
  argv[n++] = (char *)t;
  argv[n++] = seedbuf;
  argv[n++] = stepbuf;
  argv[n++] = (char *)tmpdir;
  argv[n++] = depthbuf;
  for (int i = 0; i < ntargets; i++) argv[n++] = (char *)targets[i];
  argv[n] = NULL;
  char *envp[] = {NULL};
  syscall(SYS_execve, t, argv, envp);
}

static void *exec_thread(void *arg) {
  struct exec_args *a = arg;
  rs = a->seed;
  run(pick(3), 0, 0);
  do_exec(a->steps);
  return NULL;
}

static void op_exec(int remaining) {
  if (exec_depth >= 3) return;
  if (chance(25)) {
    /* exec from a non-leader thread: the kernel kills the others and the thread takes the pid */
    struct exec_args a = {rnd() | 1, remaining};
    pthread_t t;
    if (pthread_create(&t, NULL, exec_thread, &a) == 0) pthread_join(t, NULL);
  } else {
    do_exec(remaining);
  }
}

static void op_fork(void) {
  uint64_t s = rnd() | 1;
  pid_t c = chance(20) ? vfork() : fork();
  if (c == 0) {
    rs = s;
    if (chance(50)) {
      /* vfork children may only exec or _exit; a forked child runs a short sequence. */
      do_exec(4);
    }
    _exit(0);
  }
  if (c > 0) {
    waitpid(c, NULL, 0);
    if (nreaped < 8) reaped[nreaped++] = c;
  }
}

static void run(int steps, pid_t peer, int allow_tasks) {
  for (int i = 0; i < steps; i++) {
    int r = pick(100);
    if (r < 22) op_capget(peer);
    else if (r < 40) op_capset(peer);
    else if (r < 62) op_prctl();
    else if (r < 74) op_ids();
    else if (r < 86) op_priv(peer);
    else if (!allow_tasks) op_capget(peer);
    else if (r < 90) op_peer_thread();
    else if (r < 94) op_peer_child();
    else if (r < 97) op_fork();
    else op_exec(steps - i);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  seed0 = strtoull(argv[1], NULL, 10);
  int steps = atoi(argv[2]);
  tmpdir = argv[3];
  int first = 4;
  if (argc > 4 && argv[4][0] >= '0' && argv[4][0] <= '9') {
    exec_depth = atoi(argv[4]);
    first = 5;
  }
  for (int i = first; i < argc && ntargets < MAX_TARGETS; i++) targets[ntargets++] = argv[i];
  rs = seed0 * 0x9E3779B97F4A7C15ULL + 1;
  syscall(SYS_getpid);
  run(steps, 0, 1);
  return 0;
}
