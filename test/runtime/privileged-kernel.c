/*
 * Live-kernel probe for the runtime's privileged operations (test/runtime/privileged-kernel.test.ts).
 * For each credential configuration and each operation, a fresh child sets up the credential,
 * performs the operation once and prints "<config> <op> <ret> <errno>". Run as root.
 * Only harmless operations: failures, no-op successes (same hostname, settimeofday(NULL, NULL))
 * or effects confined to the child (its own namespaces, chroot, nice) and a scratch directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include <fcntl.h>

static const char *dir;
static pid_t target_pid;

/*
 * A ptrace target for the ptrace_* operations: forked before the probe's credential changes, it
 * becomes uid 1000 (which makes it non-dumpable) and, for the _dumpable variant, dumpable again;
 * it exits when the probe exits (EOF on the pipe). PTRACE_SEIZE does not stop it.
 */
static int ns_user_fd = -1, ns_net_fd = -1;

static void start_target(const char *name) {
  int go[2], hold[2];
  target_pid = -1;
  int setns_target = !strncmp(name, "setns_", 6);
  int uid_target = !strncmp(name, "ptrace_seize", 12) || !strncmp(name, "uidtarget_", 10);
  if ((!uid_target && !setns_target) || pipe(go) || pipe(hold)) return;
  pid_t t = fork();
  if (t == 0) {
    close(go[0]);
    close(hold[1]);
    if (setresuid(1000, 1000, 1000)) _exit(1);
    if (strstr(name, "_dumpable")) prctl(PR_SET_DUMPABLE, 1);
    if (setns_target && unshare(CLONE_NEWUSER | CLONE_NEWNET)) _exit(1);
    if (write(go[1], "x", 1) < 0) _exit(1);
    char c;
    while (read(hold[0], &c, 1) > 0) {
    }
    _exit(0);
  }
  close(go[1]);
  close(hold[0]);
  char c;
  if (read(go[0], &c, 1) == 1) target_pid = t;
  close(go[0]);
  if (setns_target && target_pid > 0) {
    /* Opened while still root: /proc/PID/ns/ files need ptrace read access. */
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/ns/user", t);
    ns_user_fd = open(p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/%d/ns/net", t);
    ns_net_fd = open(p, O_RDONLY);
  }
  /* hold[1] stays open in the probe until it exits. */
}

static int capset_raw(unsigned long long e, unsigned long long p, unsigned long long i) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {
      {(unsigned)e, (unsigned)p, (unsigned)i}, {(unsigned)(e >> 32), (unsigned)(p >> 32), (unsigned)(i >> 32)}};
  return (int)syscall(SYS_capset, &h, d);
}

static unsigned long long cur_p(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  syscall(SYS_capget, &h, d);
  return ((unsigned long long)d[1].permitted << 32) | d[0].permitted;
}

/*
 * A: root, E = P. B: root, E = 0. C: uid 1000, no caps. D: uid 1000, E = P = the root set.
 * E<hex>: root with E = hex & P. U<hex>: uid 1000 with E = P = hex & (root's P).
 */
static int setup(const char *cfgs) {
  unsigned long long p = cur_p();
  char cfg = cfgs[0];
  unsigned long long m = strtoull(cfgs + 1, NULL, 16) & p;
  switch (cfg) {
    case 'E': return capset_raw(m, p, 0);
    case 'U':
      if (prctl(PR_SET_KEEPCAPS, 1)) return -1;
      if (setresuid(1000, 1000, 1000)) return -1;
      return capset_raw(m, m, 0);
    case 'A': return 0;
    case 'B': return capset_raw(0, p, 0);
    case 'C': return setresuid(1000, 1000, 1000);
    case 'D':
      if (prctl(PR_SET_KEEPCAPS, 1)) return -1;
      if (setresuid(1000, 1000, 1000)) return -1;
      return capset_raw(p, p, 0);
  }
  return -1;
}

static long op(const char *name) {
  char path[512];
  if (!strcmp(name, "sock_raw4")) return socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (!strcmp(name, "sock_raw6")) return socket(AF_INET6, SOCK_RAW, 58);
  if (!strcmp(name, "sock_packet")) return socket(AF_PACKET, SOCK_RAW, 0);
  if (!strcmp(name, "sock_packet_stream")) return socket(AF_PACKET, SOCK_STREAM, 0);
  if (!strcmp(name, "sock_ping")) return socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  if (!strcmp(name, "sock_tcp")) return socket(AF_INET, SOCK_STREAM, 0);
  if (!strcmp(name, "sock_unix")) return socket(AF_UNIX, SOCK_DGRAM, 0);
  if (!strcmp(name, "sock_raw_badproto")) return socket(AF_INET, SOCK_RAW, 300);
  if (!strcmp(name, "sock_raw_proto0")) return socket(AF_INET6, SOCK_RAW, 0);
  if (!strcmp(name, "sock_stream_udp")) return socket(AF_INET, SOCK_STREAM, IPPROTO_UDP);
  if (!strcmp(name, "sock_dgram_tcp")) return socket(AF_INET6, SOCK_DGRAM, IPPROTO_TCP);
  if (!strcmp(name, "sock_ping6_wrong_icmp")) return socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMP);
  if (!strcmp(name, "sock_rdm")) return socket(AF_INET, SOCK_RDM, 0);
  if (!strcmp(name, "sock_inet_packet")) return socket(AF_INET, SOCK_PACKET, 0);
  if (!strcmp(name, "sock_inet6_packet")) return socket(AF_INET6, SOCK_PACKET, 0);
  if (!strcmp(name, "sock_unix_raw")) return socket(AF_UNIX, SOCK_RAW, 0);
  if (!strcmp(name, "sock_unix_badproto")) return socket(AF_UNIX, SOCK_STREAM, 5);
  if (!strcmp(name, "bind6_7")) {
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0) return -2;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(7), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    return bind(fd, (struct sockaddr *)&a, sizeof a);
  }
  if (!strcmp(name, "bind_raw_7")) {
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (fd < 0) return -2;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(7), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return bind(fd, (struct sockaddr *)&a, sizeof a);
  }
  if (!strcmp(name, "mknod_regular0")) {
    snprintf(path, sizeof path, "%s/m%d", dir, getpid());
    return mknod(path, 0600, 0);
  }
  if (!strcmp(name, "mknod_sock")) {
    snprintf(path, sizeof path, "%s/s%d", dir, getpid());
    return mknod(path, S_IFSOCK | 0600, 0);
  }
  if (!strcmp(name, "mknod_missing_parent")) return mknod("/nonexistent-capctl/x", S_IFCHR | 0600, makedev(1, 3));
  if (!strcmp(name, "kill_parent_negsig")) return kill(getppid(), -1);
  if (!strcmp(name, "nice_clamp_high")) return setpriority(PRIO_PROCESS, 0, 100);
  if (!strcmp(name, "nice_badwhich")) return setpriority(7, 0, 0);
  if (!strcmp(name, "clock_settime_16")) {
    struct timespec ts = {1, 0};
    return syscall(SYS_clock_settime, 16, &ts);
  }
  if (!strcmp(name, "settimeofday_badtz")) {
    struct timezone tz = {16 * 60, 0};
    return syscall(SYS_settimeofday, NULL, &tz);
  }
  if (!strcmp(name, "reboot_unknown_cmd")) return syscall(SYS_reboot, 0xfee1dead, 672274793, 0x12345, 0);
  if (!strcmp(name, "unshare_user_ns")) return unshare(CLONE_NEWUSER | CLONE_NEWNS);
  if (!strcmp(name, "unshare_ipc")) return unshare(CLONE_NEWIPC);
  if (!strcmp(name, "chroot_missing")) return chroot("/nonexistent-capctl");
  if (!strcmp(name, "sock_badflags")) return socket(AF_INET, SOCK_STREAM | 0x10, 0);
  if (!strncmp(name, "bind_", 5)) {
    int port = atoi(name + 5);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -2;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return bind(fd, (struct sockaddr *)&a, sizeof a);
  }
  if (!strcmp(name, "mknod_chr")) {
    snprintf(path, sizeof path, "%s/c%d", dir, getpid());
    return mknod(path, S_IFCHR | 0600, makedev(1, 3));
  }
  if (!strcmp(name, "mknod_blk")) {
    snprintf(path, sizeof path, "%s/b%d", dir, getpid());
    return mknod(path, S_IFBLK | 0600, makedev(7, 0));
  }
  if (!strcmp(name, "mknod_whiteout")) {
    snprintf(path, sizeof path, "%s/w%d", dir, getpid());
    return mknod(path, S_IFCHR | 0600, makedev(0, 0));
  }
  if (!strcmp(name, "mknod_fifo")) {
    snprintf(path, sizeof path, "%s/f%d", dir, getpid());
    return mknod(path, S_IFIFO | 0600, 0);
  }
  if (!strcmp(name, "mknod_dir")) {
    snprintf(path, sizeof path, "%s/d%d", dir, getpid());
    return mknod(path, S_IFDIR | 0700, 0);
  }
  if (!strcmp(name, "chroot")) return chroot(dir);
  if (!strcmp(name, "kill_parent")) return kill(getppid(), 0);
  if (!strcmp(name, "kill_parent_badsig")) return kill(getppid(), 99);
  if (!strcmp(name, "kill_missing")) return kill(4000000, 0);
  if (!strcmp(name, "sethostname_same")) {
    char h[256];
    gethostname(h, sizeof h);
    return sethostname(h, strlen(h));
  }
  static char longname[128] = "x";
  if (!strcmp(name, "sethostname_long")) return sethostname(longname, 100);
  if (!strcmp(name, "setdomainname_long")) return setdomainname(longname, 65);
  if (!strcmp(name, "mount_nouser")) return mount("none", dir, "tmpfs", MS_NOUSER, NULL);
  if (!strcmp(name, "umount_badflags")) return umount2(dir, 0x100);
  if (!strcmp(name, "nice_lower")) return setpriority(PRIO_PROCESS, 0, -1);
  if (!strcmp(name, "nice_raise")) return setpriority(PRIO_PROCESS, 0, 5);
  if (!strcmp(name, "nice_parent")) return setpriority(PRIO_PROCESS, getppid(), 0);
  if (!strcmp(name, "chown_root_file")) {
    snprintf(path, sizeof path, "%s/r%d", dir, getpid());
    return chown(path, 1000, -1);
  }
  if (!strcmp(name, "chgrp_root_file")) {
    snprintf(path, sizeof path, "%s/r%d", dir, getpid());
    return chown(path, -1, 0);
  }
  if (!strcmp(name, "chown_noop")) {
    snprintf(path, sizeof path, "%s/r%d", dir, getpid());
    return chown(path, -1, -1);
  }
  if (!strcmp(name, "acct_null")) return acct(NULL);
  if (!strcmp(name, "reboot_badmagic")) return syscall(SYS_reboot, 0, 0, 0, 0);
  if (!strcmp(name, "reboot_cad_on")) return syscall(SYS_reboot, 0xfee1dead, 672274793, 0x89abcdef, 0);
  if (!strcmp(name, "settimeofday_null")) return syscall(SYS_settimeofday, NULL, NULL);
  if (!strcmp(name, "settimeofday_badusec")) {
    struct timeval tv = {0, 2000000};
    return settimeofday(&tv, NULL);
  }
  if (!strcmp(name, "clock_settime_mono")) {
    struct timespec ts = {1, 0};
    return clock_settime(CLOCK_MONOTONIC, &ts);
  }
  if (!strcmp(name, "clock_settime_badnsec")) {
    struct timespec ts = {1, 2000000000L};
    return clock_settime(CLOCK_REALTIME, &ts);
  }
  if (!strcmp(name, "iopl3")) return syscall(SYS_iopl, 3);
  if (!strcmp(name, "ioperm_on")) return syscall(SYS_ioperm, 0x80, 1, 1);
  if (!strcmp(name, "swapon_badflags")) return swapon("/nonexistent", 0x80000);
  if (!strcmp(name, "swapoff")) return swapoff("/nonexistent");
  if (!strcmp(name, "rlimit_raise_nofile")) {
    struct rlimit r;
    getrlimit(RLIMIT_NOFILE, &r);
    r.rlim_max += 1;
    return setrlimit(RLIMIT_NOFILE, &r);
  }
  if (!strcmp(name, "rlimit_lower_nofile")) {
    struct rlimit r;
    getrlimit(RLIMIT_NOFILE, &r);
    r.rlim_max -= 1;
    if (r.rlim_cur > r.rlim_max) r.rlim_cur = r.rlim_max;
    return setrlimit(RLIMIT_NOFILE, &r);
  }
  if (!strcmp(name, "rlimit_nofile_over_nr_open")) {
    struct rlimit r = {1024, 1048577};
    return setrlimit(RLIMIT_NOFILE, &r);
  }
  if (!strcmp(name, "mlock_zero_limit")) {
    struct rlimit r = {0, 0};
    setrlimit(RLIMIT_MEMLOCK, &r);
    static char page[8192] __attribute__((aligned(4096)));
    return mlock(page, 4096);
  }
  if (!strcmp(name, "unshare_uts")) return unshare(CLONE_NEWUTS);
  if (!strcmp(name, "unshare_user")) return unshare(CLONE_NEWUSER);
  if (!strcmp(name, "unshare_user_net_raw")) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET)) return -2;
    return socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  }
  if (!strcmp(name, "unshare_user_sethostname")) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWUTS)) return -2;
    return sethostname("capctl-test", 11);
  }
  if (!strcmp(name, "unshare_user_then_raw")) {
    if (unshare(CLONE_NEWUSER)) return -2;
    return socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  }
  if (!strcmp(name, "ptrace_missing")) return syscall(SYS_ptrace, 16, 4000000, 0, 0);
  if (!strcmp(name, "setxattr_caps_badsize")) {
    snprintf(path, sizeof path, "%s/x%d", dir, getpid());
    int fd = creat(path, 0644);
    if (fd < 0) return -2;
    unsigned char v[12] = {0, 0, 0, 2};
    return setxattr(path, "security.capability", v, sizeof v, 0);
  }
  if (!strcmp(name, "setxattr_caps_v2")) {
    snprintf(path, sizeof path, "%s/x%d", dir, getpid());
    int fd = creat(path, 0644);
    if (fd < 0) return -2;
    unsigned char v[20] = {1, 0, 0, 2, 0, 0x20, 0, 0};
    return setxattr(path, "security.capability", v, sizeof v, 0);
  }
  if (!strcmp(name, "ptrace_seize_uid1000") || !strcmp(name, "ptrace_seize_uid1000_dumpable")) {
    if (target_pid <= 0) return -2;
    return syscall(SYS_ptrace, 0x4206 /* PTRACE_SEIZE */, target_pid, 0, 0);
  }
  if (!strcmp(name, "setns_user_of_child")) return syscall(SYS_setns, ns_user_fd, CLONE_NEWUSER);
  if (!strcmp(name, "setns_net_of_child")) return syscall(SYS_setns, ns_net_fd, 0);
  if (!strcmp(name, "setns_net_wrong_type")) return syscall(SYS_setns, ns_net_fd, CLONE_NEWUTS);
  if (!strcmp(name, "setns_user_then_net")) {
    if (syscall(SYS_setns, ns_user_fd, CLONE_NEWUSER)) return -2;
    return syscall(SYS_setns, ns_net_fd, CLONE_NEWNET);
  }
  if (!strcmp(name, "uidtarget_kill")) return kill(target_pid, 0);
  if (!strcmp(name, "uidtarget_kill_cont")) return kill(target_pid, SIGCONT);
  if (!strcmp(name, "uidtarget_nice")) return setpriority(PRIO_PROCESS, target_pid, 3);
  fprintf(stderr, "unknown op %s\n", name);
  exit(3);
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  dir = argv[1];
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (setgroups(0, NULL)) perror("setgroups");
  char *cfgs = strdup(argv[2]);
  for (char *c = strtok(cfgs, ","); c; c = strtok(NULL, ",")) {
    for (int i = 3; i < argc; i++) {
      int pfd[2];
      if (pipe(pfd)) return 4;
      pid_t pid = fork();
      if (pid == 0) {
        close(pfd[0]);
        char buf[128];
        /* A fresh root-owned file for the chown operations, made before the credential changes. */
        char rf[512];
        snprintf(rf, sizeof rf, "%s/r%d", dir, getpid());
        int rfd = creat(rf, 0644);
        if (rfd >= 0) close(rfd);
        start_target(argv[i]);
        if (setup(c) != 0) {
          snprintf(buf, sizeof buf, "%s %s setup-failed %d\n", c, argv[i], errno);
        } else {
          errno = 0;
          long r = op(argv[i]);
          int e = errno;
          snprintf(buf, sizeof buf, "%s %s %ld %d\n", c, argv[i], r < 0 ? r : (r > 0 ? 1 : 0), r < 0 ? e : 0);
        }
        if (write(pfd[1], buf, strlen(buf)) < 0) _exit(5);
        _exit(0);
      }
      close(pfd[1]);
      char out[256];
      ssize_t n = read(pfd[0], out, sizeof out - 1);
      close(pfd[0]);
      waitpid(pid, NULL, 0);
      if (n > 0) {
        out[n] = 0;
        fputs(out, stdout);
      }
    }
  }
  return 0;
}
