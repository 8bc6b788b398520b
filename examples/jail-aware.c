/*
 * A program whose behaviour depends on what capget says: with CAP_NET_RAW in its effective set
 * it opens a raw ICMP socket, otherwise it does not try and says so; then it drops every
 * capability with capset and shows the result. Under `capctl run --host freebsd` the answers
 * are the jail's (the bridge), so the same binary takes the other branch without ever meeting
 * a refusal:
 *
 *   gcc -o /tmp/jail-aware examples/jail-aware.c
 *   capctl run --host freebsd -- /tmp/jail-aware                                  # no raw
 *   capctl run --host freebsd --jail-param allow.raw_sockets=1 -- /tmp/jail-aware # raw
 */
#include <linux/capability.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int effective(struct __user_cap_data_struct *d, int cap) { return (d[cap / 32].effective >> (cap % 32)) & 1; }

int main(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {{0}};
  if (syscall(SYS_capget, &h, d) != 0) {
    perror("capget");
    return 1;
  }
  printf("effective: %08x%08x\n", d[1].effective, d[0].effective);
  if (effective(d, CAP_NET_RAW)) {
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (s < 0) {
      perror("raw socket");
      return 1;
    }
    printf("CAP_NET_RAW held: raw ICMP socket opened\n");
    close(s);
  } else {
    printf("no CAP_NET_RAW: not trying a raw socket\n");
  }
  struct __user_cap_data_struct none[2] = {{0}};
  if (syscall(SYS_capset, &h, none) != 0) {
    perror("capset");
    return 1;
  }
  syscall(SYS_capget, &h, d);
  printf("after dropping: %08x%08x\n", d[1].effective | d[1].permitted, d[0].effective | d[0].permitted);
  /* The kernel's own view: the drop was applied for real, not only in the engine. */
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (line[0] == 'C' && line[3] == 'P' && line[4] == 'r' && line[5] == 'm') printf("kernel %s", line);
  if (f) fclose(f);
  return 0;
}
