/*
 * A small program for the capctl replay quick start: it opens a raw socket, drops
 * CAP_NET_RAW from its effective set, fails, raises it again, drops it from the bounding set,
 * switches to uid 1000 (losing every capability), and fails once more.
 *
 *   gcc -o drop-raw examples/drop-raw.c
 *   cat /proc/$$/status > status.txt
 *   sudo strace -f -o trace.txt ./drop-raw
 *   capctl replay trace.txt --status status.txt --check
 *
 * Raw syscalls are used so that the trace shows exactly the calls capctl models.
 */
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void raw_socket(void) {
  int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (s >= 0) close(s);
}

int main(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  raw_socket();                                 /* as started: root with CAP_NET_RAW */
  syscall(SYS_capget, &h, d);
  d[0].effective &= ~(1u << CAP_NET_RAW);       /* keep it in permitted only */
  syscall(SYS_capset, &h, d);
  raw_socket();                                 /* EPERM */
  d[0].effective |= 1u << CAP_NET_RAW;          /* permitted still has it */
  syscall(SYS_capset, &h, d);
  raw_socket();                                 /* works again */
  prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0);
  prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0); /* 0 */
  syscall(SYS_setresuid, 1000, 1000, 1000);     /* all capabilities gone */
  raw_socket();                                 /* EPERM */
  syscall(SYS_capget, &h, d);                   /* all zero */
  d[0].permitted = d[0].effective = 1u << CAP_NET_RAW;
  syscall(SYS_capset, &h, d);                   /* EPERM: permitted never grows */
  return 0;
}
