/*
 * The floor for `capctl run`'s intercepted calls: the same capget loop as live-loop.c, supervised
 * by this C program with the same five calls capctl's supervisor makes per notification
 * (NOTIF_RECV, process_vm_readv of the header, NOTIF_ID_VALID, process_vm_writev of the data,
 * NOTIF_SEND), answering a fixed result. What is left between this and capctl is Node's share.
 *
 *   supervisor-floor N SYNC PIN
 *     N     capget calls made by the supervised loop
 *     SYNC  1: SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP on the listener, 0: not
 *     PIN   none | same (supervisor and caller on CPU 0) | split (supervisor CPU 0, caller CPU 1)
 *           | external: no supervisor here; print "PID FD" (the program and its listener fd) and
 *             start the loop at a byte on stdin, so another supervisor takes the fd with pidfd_getfd
 *           | pipe: no seccomp at all; two processes on CPU 0 pass a byte back and forth over two
 *             pipes N times (two context switches and four plain syscalls per round trip): what
 *             any answer from another process costs on this machine
 *
 * Prints the loop's calls per second (timed by the loop itself, as live-loop.c does).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif

static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  if (sched_setaffinity(0, sizeof s, &s) != 0) perror("sched_setaffinity");
}

static int install(void) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_capget, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &p);
}

static void *loop(void *arg) {
  int fd = *(int *)arg;
  struct seccomp_notif req;
  struct seccomp_notif_resp resp;
  struct __user_cap_header_struct hdr;
  struct __user_cap_data_struct data[2] = {{0x1234, 0x1234, 0}, {0, 0, 0}};
  for (;;) {
    memset(&req, 0, sizeof req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      break;
    }
    struct iovec l = {&hdr, sizeof hdr}, r = {(void *)req.data.args[0], sizeof hdr};
    if (process_vm_readv(req.pid, &l, 1, &r, 1, 0) != sizeof hdr) hdr.version = 0;
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) != 0) continue;
    struct iovec wl = {data, sizeof data}, wr = {(void *)req.data.args[1], sizeof data};
    if (process_vm_writev(req.pid, &wl, 1, &wr, 1, 0) != sizeof data) perror("writev");
    resp.id = req.id;
    resp.val = 0;
    resp.error = 0;
    resp.flags = 0;
    ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
  return NULL;
}

/* Round trips per second of a byte between two processes pinned to CPU 0. */
static int pingpong(long n) {
  int there[2], back[2];
  char x = 0;
  if (pipe(there) || pipe(back)) return 1;
  pin(0);
  pid_t child = fork();
  if (child == 0) {
    for (long i = 0; i < n; i++)
      if (read(there[0], &x, 1) != 1 || write(back[1], &x, 1) != 1) _exit(1);
    _exit(0);
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++)
    if (write(there[1], &x, 1) != 1 || read(back[0], &x, 1) != 1) return 1;
  clock_gettime(CLOCK_MONOTONIC, &b);
  double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
  printf("%.0f\n", n / s);
  int st;
  waitpid(child, &st, 0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  long n = atol(argv[1]);
  int sync = atoi(argv[2]);
  const char *mode = argv[3];
  if (strcmp(mode, "pipe") == 0) return pingpong(n);
  int fdpipe[2], outpipe[2];
  if (pipe(fdpipe) || pipe(outpipe)) return 1;
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (strcmp(mode, "same") == 0) pin(0);
    if (strcmp(mode, "split") == 0) pin(1);
    int fd = install();
    if (fd < 0) _exit(3);
    if (write(fdpipe[1], &fd, sizeof fd) != sizeof fd) _exit(3);
    char go;
    if (read(outpipe[0], &go, 1) != 1) _exit(3);
    close(fd);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) syscall(SYS_capget, &h, d);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%.0f\n", n / s);
    fflush(stdout);
    _exit(d[0].effective == 0x1234 ? 0 : 4);
  }
  if (strcmp(mode, "same") == 0 || strcmp(mode, "split") == 0) pin(0);
  int cfd;
  if (read(fdpipe[0], &cfd, sizeof cfd) != sizeof cfd) return 1;
  int st;
  if (strcmp(mode, "external") == 0) {
    printf("%d %d\n", (int)child, cfd);
    fflush(stdout);
    char go;
    if (read(0, &go, 1) != 1 || write(outpipe[1], "g", 1) != 1) return 1;
    waitpid(child, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
  }
  int pidfd = syscall(SYS_pidfd_open, child, 0);
  int fd = syscall(SYS_pidfd_getfd, pidfd, cfd, 0);
  if (fd < 0) {
    perror("pidfd_getfd");
    return 1;
  }
  if (sync) {
    __u64 flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags) != 0) perror("SET_FLAGS");
  }
  pthread_t th;
  // The receive loop blocks for good once the program is gone (no notification will come): it
  // runs in a thread, and the main thread ends the process when the program has exited.
  if (pthread_create(&th, NULL, loop, &fd) != 0) return 1;
  if (write(outpipe[1], "g", 1) != 1) return 1;
  waitpid(child, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
