/*
 * capctl-oci-fast: the native fast path of capctl-oci-runtime's `create` and `run`.
 *
 * Why it exists: every container an engine starts through the shim pays for the shim's start-up,
 * and starting Node alone (about 100 ms on the reference VM) is twice the 50 ms budget the shim
 * may add per container. This program does the common case without Node: a container whose
 * bundle names its profile in the io.capctl.profile annotation, whose compiled form is already
 * stored in the state directory (compiled/<key>.json, written by the Node path on the first
 * create with that profile) and still matches the sha256 of the profile's files. It writes the profile into
 * config.json exactly as `capctl oci apply` does (same bytes), appends the audit record, and
 * execs the real runtime. A container with no annotation and no bindings file runs unchanged.
 *
 * Everything else is handed, by exec with the original arguments, to the Node path
 * (dist/src/live/oci-shim-main.js), which is the reference implementation and fails closed with
 * its one-line reason: a binding (the Node path records the container id in it under the state
 * lock), a profile not yet compiled or changed since, a FreeBSD bundle, JSON whose rewrite this
 * program cannot reproduce byte for byte (fractions, exponents, integers past 15 digits, a
 * duplicate or array-index key, a lone surrogate, invalid UTF-8), a non-root caller, anything
 * unreadable or untrusted. It never runs a container without its profile: any doubt ends in the
 * Node path, never in the real runtime.
 *
 * Invocation (from bin/capctl-oci-runtime): capctl-oci-fast REAL_RUNTIME ARGS...
 * where ARGS are the shim's own arguments (runc's command line plus capctl's flags).
 * CAPCTL_OCI_FAST_DEBUG=1 prints, on stderr, which path was taken and why (tests use it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cap-names.h" /* generated at build time from src/caps/catalog.ts: CAP_NAMES, CAP_NAMES_N */

/* ------------------------------------------------------------------ hand-over */

static char **orig_argv;
static int orig_argc;
static char pkg_root[PATH_MAX];
static int debug;
/* runc's --log and --log-format: containerd's runc shim shows its user the last error in that
 * file, not the runtime's stderr (as the Node path's reportToLog does). */
static const char *runc_log, *runc_log_format;

static void json_quote_file(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void iso_now(char out[96]);

/* This program's own failure (never a profile decision: those are the Node path's): one line
 * on stderr and, as runc would, in its --log file. */
static void fail(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "capctl-oci-runtime: %s\n", msg);
  if (!runc_log || !*runc_log) return;
  int fd = open(runc_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
  if (!f) {
    if (fd >= 0) close(fd);
    return;
  }
  char now[96], line[1100];
  iso_now(now);
  snprintf(line, sizeof line, "capctl-oci-runtime: %s", msg);
  if (runc_log_format && strcmp(runc_log_format, "json") == 0) {
    fputs("{\"level\":\"error\",\"msg\":", f);
    json_quote_file(f, line);
    fprintf(f, ",\"time\":\"%s\"}\n", now);
  } else {
    fprintf(f, "time=\"%s\" level=error msg=", now);
    json_quote_file(f, line);
    fputc('\n', f);
  }
  fclose(f);
}

/* CAPCTL_OCI_FAST_DEBUG=1: one line on stderr saying which path was taken; =/ABS/FILE: that
 * line appended to FILE (an engine shows the runtime's stderr only when it fails). */
static void dbg(const char *fmt, ...) {
  if (!debug) return;
  const char *d = getenv("CAPCTL_OCI_FAST_DEBUG");
  FILE *f = d[0] == '/' ? fopen(d, "ae") : stderr;
  if (!f) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("capctl-oci-fast: ", f);
  vfprintf(f, fmt, ap);
  fputc('\n', f);
  va_end(ap);
  if (f != stderr) fclose(f);
}

/* Hand the whole command to the Node path, the reference implementation. Never returns. */
static void to_node(const char *why) {
  dbg("node path: %s", why);
  char main_js[PATH_MAX];
  if (snprintf(main_js, sizeof main_js, "%s/dist/src/live/oci-shim-main.js", pkg_root) >= (int)sizeof main_js) {
    fail("package path too long");
    exit(1);
  }
  char **av = calloc((size_t)orig_argc + 3, sizeof *av);
  if (!av) exit(1);
  av[0] = "node";
  av[1] = main_js;
  for (int i = 0; i < orig_argc; i++) av[i + 2] = orig_argv[i];
  execvp("node", av);
  fail("cannot start node for the profile: %s", strerror(errno));
  exit(1);
}

/* ------------------------------------------------------------------ buffers */

typedef struct {
  char *p;
  size_t n, cap;
} Buf;

static void bput(Buf *b, const void *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t c = b->cap ? b->cap : 4096;
    while (c < b->n + n + 1) c *= 2;
    char *q = realloc(b->p, c);
    if (!q) to_node("out of memory");
    b->p = q;
    b->cap = c;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
static void bputs(Buf *b, const char *s) { bput(b, s, strlen(s)); }

/* ------------------------------------------------------------------ SHA-256 (FIPS 180-4) */

typedef struct {
  uint32_t h[8];
  uint8_t blk[64];
  size_t used;
  uint64_t bits;
} Sha256;

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first
 * 64 primes. */
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(Sha256 *s, const uint8_t *m) {
  uint32_t w[64];
  for (int t = 0; t < 16; t++)
    w[t] = (uint32_t)m[4 * t] << 24 | (uint32_t)m[4 * t + 1] << 16 | (uint32_t)m[4 * t + 2] << 8 | m[4 * t + 3];
  for (int t = 16; t < 64; t++) {
    uint32_t s0 = ROTR(w[t - 15], 7) ^ ROTR(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = ROTR(w[t - 2], 17) ^ ROTR(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = s1 + w[t - 7] + s0 + w[t - 16];
  }
  uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
  for (int t = 0; t < 64; t++) {
    uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K256[t] + w[t];
    uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  s->h[0] += a;
  s->h[1] += b;
  s->h[2] += c;
  s->h[3] += d;
  s->h[4] += e;
  s->h[5] += f;
  s->h[6] += g;
  s->h[7] += h;
}

static void sha_init(Sha256 *s) {
  /* §5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8 primes. */
  static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, H0, sizeof H0);
  s->used = 0;
  s->bits = 0;
}

static void sha_update(Sha256 *s, const void *data, size_t n) {
  const uint8_t *p = data;
  s->bits += (uint64_t)n * 8;
  while (n > 0) {
    size_t k = 64 - s->used < n ? 64 - s->used : n;
    memcpy(s->blk + s->used, p, k);
    s->used += k;
    p += k;
    n -= k;
    if (s->used == 64) {
      sha_block(s, s->blk);
      s->used = 0;
    }
  }
}

/* §5.1.1 padding: a 1 bit, zeros to 56 mod 64 bytes, the message length in bits (64-bit BE). */
static void sha_hex(Sha256 *s, char out[65]) {
  uint64_t bits = s->bits;
  uint8_t pad = 0x80;
  sha_update(s, &pad, 1);
  pad = 0;
  while (s->used != 56) sha_update(s, &pad, 1);
  uint8_t len[8];
  for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha_update(s, len, 8);
  for (int i = 0; i < 8; i++) snprintf(out + 8 * i, 9, "%08x", s->h[i]);
}

/* ------------------------------------------------------------------ files and trust */

/* root, the real uid and $SUDO_UID: trust.ts trustedOwners. */
static int trusted_owner(uid_t u) {
  if (u == 0 || u == getuid()) return 1;
  const char *s = getenv("SUDO_UID");
  if (!s || !*s || strlen(s) > 10) return 0;
  for (const char *c = s; *c; c++)
    if (*c < '0' || *c > '9') return 0;
  unsigned long long v = strtoull(s, NULL, 10);
  return v <= 0xfffffffeULL && (uid_t)v == u;
}

/* trust.ts untrustedReason: owner trusted, and not group/world writable (a root-owned sticky
 * directory excepted). */
static int trusted_stat(const struct stat *st, int is_dir) {
  if (!trusted_owner(st->st_uid)) return 0;
  if ((st->st_mode & 022) == 0) return 1;
  return is_dir && (st->st_mode & 01000) && st->st_uid == 0;
}

/* trust.ts checkTrustedDir: every directory from / down to realpath(dir). */
static int trusted_dir(const char *dir) {
  char real[PATH_MAX];
  if (!realpath(dir, real)) return 0;
  struct stat st;
  if (lstat("/", &st) != 0 || !trusted_stat(&st, 1)) return 0;
  size_t n = strlen(real);
  for (size_t i = 1; i <= n; i++) {
    if (i < n && real[i] != '/') continue;
    char c = real[i];
    real[i] = 0;
    int ok = lstat(real, &st) == 0 && trusted_stat(&st, 1);
    real[i] = c;
    if (!ok) return 0;
  }
  return 1;
}

/*
 * Read a whole regular file. trusted: trust.ts readTrustedFile as root (realpath, O_NOFOLLOW,
 * fstat type/owner/mode, the directory chain). Returns 0 on success, else -errno-ish (-1).
 */
static int read_file(const char *path, size_t max, int trusted, int nofollow_path, Buf *out) {
  char real[PATH_MAX];
  const char *p = path;
  if (!nofollow_path) {
    if (!realpath(path, real)) return errno == ENOENT ? -ENOENT : -1;
    p = real;
  }
  int fd = open(p, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? -ENOENT : -1;
  struct stat st;
  int rc = -1;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) goto done;
  if (trusted) {
    if (!trusted_stat(&st, 0)) goto done;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", p);
    char *slash = strrchr(dir, '/');
    if (!slash) goto done;
    if (slash == dir) slash[1] = 0;
    else *slash = 0;
    if (!trusted_dir(dir)) goto done;
  }
  out->n = 0;
  bput(out, "", 0);
  char tmp[65536];
  for (;;) {
    ssize_t k = read(fd, tmp, sizeof tmp);
    if (k < 0) {
      if (errno == EINTR) continue;
      goto done;
    }
    if (k == 0) break;
    bput(out, tmp, (size_t)k);
    if (out->n > max) goto done;
  }
  rc = 0;
done:
  close(fd);
  return rc;
}

/* ------------------------------------------------------------------ UTF-8 and JSON */

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF): Node decodes anything else to
 * U+FFFD, which this program does not reproduce. Returns the sequence length or 0. */
static size_t utf8_len(const unsigned char *s, size_t left) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t n;
  unsigned min;
  unsigned cp;
  if ((c & 0xe0) == 0xc0) n = 2, min = 0x80, cp = c & 0x1f;
  else if ((c & 0xf0) == 0xe0) n = 3, min = 0x800, cp = c & 0x0f;
  else if ((c & 0xf8) == 0xf0) n = 4, min = 0x10000, cp = c & 0x07;
  else return 0;
  if (left < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

static int valid_utf8(const char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    size_t k = utf8_len((const unsigned char *)s + i, n - i);
    if (!k) return 0;
    i += k;
  }
  return 1;
}

enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct J {
  int t;
  char *s; /* J_STR: decoded bytes; J_NUM: the literal */
  size_t sn;
  struct J **v; /* array items or object values */
  char **k;     /* object keys (decoded) */
  size_t *kn;
  size_t len, cap;
} J;

typedef struct {
  const char *p, *end;
  int strict; /* for config.json: refuse what JSON.parse + JSON.stringify would not give back as read */
  int depth;
  const char *why;
} P;

static J *jnew(int t) {
  J *j = calloc(1, sizeof *j);
  if (!j) to_node("out of memory");
  j->t = t;
  return j;
}

static void jpush(J *a, char *k, size_t kn, J *v) {
  if (a->len == a->cap) {
    a->cap = a->cap ? a->cap * 2 : 8;
    a->v = realloc(a->v, a->cap * sizeof *a->v);
    a->k = realloc(a->k, a->cap * sizeof *a->k);
    a->kn = realloc(a->kn, a->cap * sizeof *a->kn);
    if (!a->v || !a->k || !a->kn) to_node("out of memory");
  }
  a->v[a->len] = v;
  a->k[a->len] = k;
  a->kn[a->len] = kn;
  a->len++;
}

static void ws(P *p) {
  while (p->p < p->end && (*p->p == ' ' || *p->p == '\t' || *p->p == '\n' || *p->p == '\r')) p->p++;
}

/* Step over a run of decimal digits; how many there were. */
static size_t digit_run(P *p) {
  const char *d = p->p;
  while (p->p < p->end && *p->p >= '0' && *p->p <= '9') p->p++;
  return (size_t)(p->p - d);
}

/* Step over `c` if it is next; whether it was. */
static int eat(P *p, char c) {
  if (p->p < p->end && *p->p == c) {
    p->p++;
    return 1;
  }
  return 0;
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

static void put_utf8(Buf *b, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) u[0] = (char)cp, n = 1;
  else if (cp < 0x800) u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
  else
    u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)), u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)),
    u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
  bput(b, u, n);
}

/* A string literal, decoded to UTF-8. A lone surrogate escape is refused (JSON.stringify would
 * write it back as \udXXX; this program keeps strings as UTF-8). */
static int pstr(P *p, char **out, size_t *outn) {
  Buf b = {0};
  bput(&b, "", 0);
  p->p++; /* opening quote */
  for (;;) {
    if (p->p >= p->end) return p->why = "unterminated string", 0;
    unsigned char c = (unsigned char)*p->p;
    if (c == '"') {
      p->p++;
      break;
    }
    if (c < 0x20) return p->why = "control character in a string", 0;
    if (c == '\\') {
      if (p->end - p->p < 2) return p->why = "bad escape", 0;
      char e = p->p[1];
      p->p += 2;
      switch (e) {
      case '"': bput(&b, "\"", 1); break;
      case '\\': bput(&b, "\\", 1); break;
      case '/': bput(&b, "/", 1); break;
      case 'b': bput(&b, "\b", 1); break;
      case 'f': bput(&b, "\f", 1); break;
      case 'n': bput(&b, "\n", 1); break;
      case 'r': bput(&b, "\r", 1); break;
      case 't': bput(&b, "\t", 1); break;
      case 'u': {
        unsigned u;
        if (p->end - p->p < 4 || !hex4(p->p, &u)) return p->why = "bad \\u escape", 0;
        p->p += 4;
        if (u >= 0xd800 && u <= 0xdbff) {
          unsigned lo;
          if (p->end - p->p < 6 || p->p[0] != '\\' || p->p[1] != 'u' || !hex4(p->p + 2, &lo) || lo < 0xdc00 ||
              lo > 0xdfff)
            return p->why = "lone surrogate escape", 0;
          p->p += 6;
          u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        } else if (u >= 0xdc00 && u <= 0xdfff) {
          return p->why = "lone surrogate escape", 0;
        }
        put_utf8(&b, u);
        break;
      }
      default: return p->why = "bad escape", 0;
      }
      continue;
    }
    size_t k = utf8_len((const unsigned char *)p->p, (size_t)(p->end - p->p));
    if (!k) return p->why = "invalid UTF-8", 0;
    bput(&b, p->p, k);
    p->p += k;
  }
  *out = b.p;
  *outn = b.n;
  return 1;
}

/* A key JavaScript orders before all others (an array index): the rewrite would move it. */
static int index_like(const char *k, size_t n) {
  if (n == 0 || n > 10) return 0;
  for (size_t i = 0; i < n; i++)
    if (k[i] < '0' || k[i] > '9') return 0;
  if (n > 1 && k[0] == '0') return 0;
  return strtoull(k, NULL, 10) < 4294967295ULL;
}

static J *pval(P *p);

static J *pobj(P *p) {
  J *o = jnew(J_OBJ);
  p->p++;
  ws(p);
  if (eat(p, '}')) return o;
  for (;;) {
    ws(p);
    if (p->p >= p->end || *p->p != '"') return p->why = "expected a key", NULL;
    char *k;
    size_t kn;
    if (!pstr(p, &k, &kn)) return NULL;
    for (size_t i = 0; i < o->len; i++)
      if (o->kn[i] == kn && memcmp(o->k[i], k, kn) == 0) return p->why = "duplicate key", NULL;
    if (p->strict && index_like(k, kn)) return p->why = "array-index key", NULL;
    ws(p);
    if (p->p >= p->end || *p->p != ':') return p->why = "expected ':'", NULL;
    p->p++;
    J *v = pval(p);
    if (!v) return NULL;
    jpush(o, k, kn, v);
    ws(p);
    if (eat(p, ',')) continue;
    if (eat(p, '}')) return o;
    return p->why = "expected ',' or '}'", NULL;
  }
}

static J *parr(P *p) {
  J *a = jnew(J_ARR);
  p->p++;
  ws(p);
  if (eat(p, ']')) return a;
  for (;;) {
    J *v = pval(p);
    if (!v) return NULL;
    jpush(a, NULL, 0, v);
    ws(p);
    if (eat(p, ',')) continue;
    if (eat(p, ']')) return a;
    return p->why = "expected ',' or ']'", NULL;
  }
}

static int lit(P *p, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(p->end - p->p) < n || memcmp(p->p, w, n) != 0) return 0;
  p->p += n;
  return 1;
}

static J *pnum(P *p) {
  const char *s = p->p;
  eat(p, '-');
  if (p->p >= p->end) return p->why = "bad number", NULL;
  if (*p->p == '0') p->p++;
  else if (*p->p >= '1' && *p->p <= '9')
    digit_run(p);
  else return p->why = "bad number", NULL;
  size_t digits = (size_t)(p->p - s) - (*s == '-');
  int plain = 1;
  if (eat(p, '.')) {
    plain = 0;
    if (digit_run(p) == 0) return p->why = "bad number", NULL;
  }
  if (eat(p, 'e') || eat(p, 'E')) {
    plain = 0;
    if (!eat(p, '+')) eat(p, '-');
    if (digit_run(p) == 0) return p->why = "bad number", NULL;
  }
  /* JSON.stringify(JSON.parse(x)) gives x back for integers below 2^53 only, and "-0" as "0". */
  if (p->strict && (!plain || digits > 15 || (p->p - s == 2 && s[0] == '-' && s[1] == '0')))
    return p->why = "number not kept as written", NULL;
  J *j = jnew(J_NUM);
  j->s = strndup(s, (size_t)(p->p - s));
  j->sn = (size_t)(p->p - s);
  return j;
}

static J *pval(P *p) {
  if (++p->depth > 256) return p->why = "nested too deep", NULL;
  ws(p);
  J *r = NULL;
  if (p->p >= p->end) p->why = "unexpected end";
  else if (*p->p == '{') r = pobj(p);
  else if (*p->p == '[') r = parr(p);
  else if (*p->p == '"') {
    r = jnew(J_STR);
    if (!pstr(p, &r->s, &r->sn)) r = NULL;
  } else if (*p->p == '-' || (*p->p >= '0' && *p->p <= '9')) r = pnum(p);
  else if (lit(p, "true")) r = jnew(J_TRUE);
  else if (lit(p, "false")) r = jnew(J_FALSE);
  else if (lit(p, "null")) r = jnew(J_NULL);
  else p->why = "unexpected character";
  p->depth--;
  return r;
}

static J *parse(const char *s, size_t n, int strict, const char **why) {
  P p = {s, s + n, strict, 0, NULL};
  J *v = pval(&p);
  if (v) {
    ws(&p);
    if (p.p != p.end) v = NULL, p.why = "trailing characters";
  }
  if (!v) *why = p.why;
  return v;
}

static J *get(const J *o, const char *k) {
  if (!o || o->t != J_OBJ) return NULL;
  size_t kn = strlen(k);
  for (size_t i = 0; i < o->len; i++)
    if (o->kn[i] == kn && memcmp(o->k[i], k, kn) == 0) return o->v[i];
  return NULL;
}

static const char *str(const J *v) { return v && v->t == J_STR && strlen(v->s) == v->sn ? v->s : NULL; }

/* oci.ts put: replace in place, or append. */
static void put(J *o, const char *k, J *v) {
  size_t kn = strlen(k);
  for (size_t i = 0; i < o->len; i++)
    if (o->kn[i] == kn && memcmp(o->k[i], k, kn) == 0) {
      o->v[i] = v;
      return;
    }
  jpush(o, strdup(k), kn, v);
}

/* oci.ts child: the object under k, replacing a non-object in place, or appended. */
static J *child(J *o, const char *k) {
  J *c = get(o, k);
  if (c && c->t == J_OBJ) return c;
  c = jnew(J_OBJ);
  put(o, k, c);
  return c;
}

/* JSON.stringify's string quoting (ECMA-262 QuoteJSONString) for UTF-8 without lone surrogates. */
static void quote(Buf *b, const char *s, size_t n) {
  bput(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *e = NULL;
    switch (c) {
    case '"': e = "\\\""; break;
    case '\\': e = "\\\\"; break;
    case '\b': e = "\\b"; break;
    case '\f': e = "\\f"; break;
    case '\n': e = "\\n"; break;
    case '\r': e = "\\r"; break;
    case '\t': e = "\\t"; break;
    }
    if (e) bputs(b, e);
    else if (c < 0x20) {
      char u[7];
      snprintf(u, sizeof u, "\\u%04x", c);
      bputs(b, u);
    } else bput(b, s + i, 1);
  }
  bput(b, "\"", 1);
}

static void indent(Buf *b, const char *ind, int depth) {
  bput(b, "\n", 1);
  for (int i = 0; i < depth; i++) bputs(b, ind);
}

/* JSON.stringify(value, null, ind) (ECMA-262 SerializeJSONObject/Array). */
static void ser(Buf *b, const J *v, const char *ind, int depth) {
  switch (v->t) {
  case J_NULL: bputs(b, "null"); return;
  case J_TRUE: bputs(b, "true"); return;
  case J_FALSE: bputs(b, "false"); return;
  case J_NUM: bput(b, v->s, v->sn); return;
  case J_STR: quote(b, v->s, v->sn); return;
  default: break;
  }
  int obj = v->t == J_OBJ;
  if (v->len == 0) {
    bputs(b, obj ? "{}" : "[]");
    return;
  }
  bputs(b, obj ? "{" : "[");
  for (size_t i = 0; i < v->len; i++) {
    if (i) bput(b, ",", 1);
    if (*ind) indent(b, ind, depth + 1);
    if (obj) {
      quote(b, v->k[i], v->kn[i]);
      bputs(b, *ind ? ": " : ":");
    }
    ser(b, v->v[i], ind, depth + 1);
  }
  if (*ind) indent(b, ind, depth);
  bputs(b, obj ? "}" : "]");
}

/* ------------------------------------------------------------------ paths */

/* An absolute path that path.resolve/path.join would leave as it is. */
static int normal_abs(const char *p) {
  size_t n = strlen(p);
  if (n == 0 || p[0] != '/') return 0;
  if (n == 1) return 1;
  if (p[n - 1] == '/') return 0;
  for (const char *s = p; (s = strchr(s, '/')); s++) {
    const char *c = s + 1;
    if (*c == '/' || (c[0] == '.' && (c[1] == '/' || !c[1])) || (c[0] == '.' && c[1] == '.' && (c[2] == '/' || !c[2])))
      return 0;
  }
  return 1;
}

static const char *base(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* ------------------------------------------------------------------ the shim */

/* oci-attach.ts NAME_ANNOTATIONS, in order. */
static const char *const NAME_ANNOTATIONS[] = {
    "io.kubernetes.cri.container-name",
    "io.kubernetes.cri-o.ContainerName",
    "io.kubernetes.container.name",
    "nerdctl/name",
};

/* oci.ts OCI_CAP_KEYS and the compiled form's set names. */
static const char *const CAP_KEYS[] = {"bounding", "effective", "inheritable", "permitted", "ambient"};

/* oci-attach.ts podmanNames: the first name containers-storage records for the container. */
static const char *podman_name(const char *bundle, const char *id) {
  if (strcmp(base(bundle), "userdata") != 0) return NULL;
  char up[PATH_MAX];
  snprintf(up, sizeof up, "%s", bundle);
  *strrchr(up, '/') = 0;
  if (strcmp(base(up), id) != 0 || !strrchr(up, '/')) return NULL;
  *strrchr(up, '/') = 0;
  char file[PATH_MAX];
  if (snprintf(file, sizeof file, "%s/containers.json", up) >= (int)sizeof file) to_node("path too long");
  Buf t = {0};
  int rc = read_file(file, 256u << 20, 0, 0, &t);
  if (rc == -ENOENT) return NULL;
  if (rc != 0) to_node("containers.json unreadable");
  if (!valid_utf8(t.p, t.n)) to_node("containers.json is not UTF-8");
  const char *why;
  J *list = parse(t.p, t.n, 0, &why);
  if (!list) to_node("containers.json not understood");
  if (list->t != J_ARR) return NULL;
  for (size_t i = 0; i < list->len; i++) {
    J *c = list->v[i];
    if (c->t == J_NULL) return NULL; /* c.id throws in the Node path: no name */
    J *cid = get(c, "id");
    if (!cid || cid->t != J_STR || cid->sn != strlen(id) || memcmp(cid->s, id, cid->sn) != 0) continue;
    J *names = get(c, "names");
    if (!names || names->t != J_ARR) return NULL;
    for (size_t k = 0; k < names->len; k++)
      if (names->v[k]->t == J_STR) {
        if (names->v[k]->sn != strlen(names->v[k]->s)) to_node("container name with a NUL");
        return names->v[k]->s;
      }
    return NULL;
  }
  return NULL;
}

/* policy/resolve.ts findProfile for a bare name: $CAPCTL_PROFILE_PATH, STATE/profiles, stock. */
static void find_named_profile(const char *name, const char *state, char *out) {
  size_t n = strlen(name);
  if (n == 0 || n > 128) to_node("profile name length");
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
             (i > 0 && (c == '.' || c == '-'));
    if (!ok) to_node("not a profile name");
  }
  char dirs[64][PATH_MAX];
  int nd = 0;
  const char *pp = getenv("CAPCTL_PROFILE_PATH");
  if (pp) {
    const char *s = pp;
    for (;;) {
      const char *e = strchr(s, ':');
      size_t len = e ? (size_t)(e - s) : strlen(s);
      if (len > 0 && s[0] == '/') {
        if (nd >= 62 || len >= PATH_MAX) to_node("CAPCTL_PROFILE_PATH too long");
        memcpy(dirs[nd], s, len);
        dirs[nd][len] = 0;
        if (!normal_abs(dirs[nd])) to_node("CAPCTL_PROFILE_PATH entry not in normal form");
        nd++;
      }
      if (!e) break;
      s = e + 1;
    }
  }
  if (snprintf(dirs[nd++], PATH_MAX, "%s/profiles", state) >= PATH_MAX ||
      snprintf(dirs[nd++], PATH_MAX, "%s/policies", pkg_root) >= PATH_MAX)
    to_node("path too long");
  for (int d = 0; d < nd; d++) {
    for (int e = 0; e < 2; e++) {
      if (snprintf(out, PATH_MAX, "%s/%s%s", strcmp(dirs[d], "/") == 0 ? "" : dirs[d], name, e ? ".yml" : ".yaml") >=
          PATH_MAX)
        to_node("path too long");
      struct stat st;
      if (stat(out, &st) != 0) continue;
      if (!S_ISREG(st.st_mode)) to_node("profile is not a regular file");
      return;
    }
  }
  to_node("no profile by that name");
}

/* The compiled form, checked as profile-store.ts readEntry and containerProfileFor do. */
typedef struct {
  const char *name, *file, *sha;
  uint64_t sets[5]; /* in CAP_KEYS order */
  int nnp;
} Compiled;

static void load_compiled(const char *state, const char *profile_file, Compiled *c) {
  Sha256 s;
  char key[65];
  sha_init(&s);
  sha_update(&s, profile_file, strlen(profile_file));
  sha_hex(&s, key);
  key[32] = 0;
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/compiled/%s.json", state, key) >= (int)sizeof path) to_node("path too long");
  Buf t = {0};
  /* Stricter than the Node path: the stored form must be as trusted as the profile itself. */
  if (read_file(path, 16u << 20, 1, 1, &t) != 0) to_node("no trusted compiled form stored");
  const char *why;
  J *j = parse(t.p, t.n, 0, &why);
  if (!j || j->t != J_OBJ) to_node("compiled form not understood");
  J *ver = get(j, "version");
  if (!ver || ver->t != J_NUM || strcmp(ver->s, "1") != 0) to_node("compiled form version");
  c->name = str(get(j, "name"));
  c->file = str(get(j, "file"));
  c->sha = str(get(j, "sha256"));
  J *files = get(j, "files"), *nnp = get(j, "noNewPrivs"), *sets = get(j, "sets");
  J *ja = get(j, "jailAllow"), *rules = get(j, "rules");
  if (!c->name || !c->file || !c->sha || !files || files->t != J_ARR || files->len == 0 || !nnp ||
      (nnp->t != J_TRUE && nnp->t != J_FALSE) || !ja || ja->t != J_OBJ || !rules || rules->t != J_ARR ||
      !sets || sets->t != J_OBJ)
    to_node("compiled form fields");
  c->nnp = nnp->t == J_TRUE;
  if (strcmp(c->file, profile_file) != 0 || !str(files->v[files->len - 1]) ||
      strcmp(files->v[files->len - 1]->s, profile_file) != 0)
    to_node("compiled form is for another file");
  for (int i = 0; i < 5; i++) {
    const char *h = str(get(sets, CAP_KEYS[i]));
    if (!h || strlen(h) != 16 || strspn(h, "0123456789abcdef") != 16) to_node("compiled set");
    c->sets[i] = strtoull(h, NULL, 16);
    if (CAP_NAMES_N < 64 && (c->sets[i] >> CAP_NAMES_N) != 0) to_node("capability this build has no name for");
  }
  /* bindings.ts hashFiles: sha256 over `path \0 bytes \0` per file of the extends chain, each
   * file read as trust.ts does as root (checkProfileFileModes). */
  sha_init(&s);
  Buf f = {0};
  for (size_t i = 0; i < files->len; i++) {
    const char *fn = str(files->v[i]);
    if (!fn) to_node("compiled form file list");
    if (read_file(fn, (size_t)1 << 40, 1, 0, &f) != 0) to_node("profile file unreadable or untrusted");
    if (!valid_utf8(f.p, f.n)) to_node("profile file is not UTF-8");
    sha_update(&s, fn, strlen(fn) + 1);
    sha_update(&s, f.p, f.n);
    sha_update(&s, "", 1);
  }
  char hex[65];
  sha_hex(&s, hex);
  if (strcmp(hex, c->sha) != 0) to_node("profile files changed since compiled");
}

/* new Date().toISOString() */
static void iso_now(char out[96]) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

/* bundle.ts applyProfileToBundle's write: temp file in the same directory, fsync, rename, fsync
 * of the directory; the file keeps its mode. Returns 0 or -1 (nothing replaced). */
static int atomic_write(const char *dir, const char *file, const Buf *text, mode_t mode) {
  char tmp[PATH_MAX];
  unsigned r = (unsigned)getpid() ^ (unsigned)time(NULL) ^ (unsigned)clock();
  if (snprintf(tmp, sizeof tmp, "%s/.config.json.capctl-%d-%08x", dir, (int)getpid(), r) >= (int)sizeof tmp) return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  size_t off = 0;
  int ok = fchmod(fd, mode) == 0;
  while (ok && off < text->n) {
    ssize_t k = write(fd, text->p + off, text->n - off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) ok = 0;
    else off += (size_t)k;
  }
  ok = ok && fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  ok = ok && rename(tmp, file) == 0;
  if (!ok) {
    unlink(tmp);
    return -1;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}

static int mkdir_p(const char *dir) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s", dir);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(p, 0777) != 0 && errno != EEXIST) return -1;
    *s = '/';
  }
  return mkdir(p, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

/* audit/attach-log.ts appendAttachRecord: one line, one O_APPEND write, fsynced. */
static int append_audit(const char *log, const Buf *line) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", log);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = 0;
    if (mkdir_p(dir) != 0) return -1;
  }
  int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return -1;
  ssize_t k = write(fd, line->p, line->n);
  int ok = k == (ssize_t)line->n && fsync(fd) == 0;
  return close(fd) == 0 && ok ? 0 : -1;
}

static int is_value_flag(const char *name, const char *const *set, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(name, set[i]) == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  const char *dv = getenv("CAPCTL_OCI_FAST_DEBUG");
  debug = dv != NULL && (strcmp(dv, "1") == 0 || dv[0] == '/');
  /* The package root: this file is PKG/dist/native/capctl-oci-fast. */
  char self[PATH_MAX];
  if (!realpath("/proc/self/exe", self)) {
    fputs("capctl-oci-runtime: cannot find its own package\n", stderr);
    return 1;
  }
  const char *suffix = "/dist/native/capctl-oci-fast";
  size_t sl = strlen(self), xl = strlen(suffix);
  if (sl <= xl || strcmp(self + sl - xl, suffix) != 0) {
    fputs("capctl-oci-runtime: capctl-oci-fast is not in its package\n", stderr);
    return 1;
  }
  memcpy(pkg_root, self, sl - xl);
  pkg_root[sl - xl] = 0;
  if (argc < 2) {
    fputs("usage: capctl-oci-fast REAL_RUNTIME ARGS... (run by capctl-oci-runtime)\n", stderr);
    return 2;
  }
  const char *real = argv[1];
  orig_argv = argv + 2;
  orig_argc = argc - 2;

  if (getuid() != 0 || geteuid() != 0) to_node("not root");

  /* oci-shim.ts parseShimArgs. */
  static const char *const GLOBAL_VALUE[] = {"--root", "--log", "--log-format", "--criu", "--rootless"};
  static const char *const CREATE_VALUE[] = {"--bundle", "-b", "--console-socket", "--pid-file", "--preserve-fds",
                                             "--pidfd-socket"};
  char **pass = calloc((size_t)orig_argc + 2, sizeof *pass);
  if (!pass) return 1;
  int np = 0;
  pass[np++] = (char *)base(real);
  const char *state = NULL, *audit = NULL, *bundle = NULL, *id = NULL, *cmd = NULL;
  int i = 0;
  for (; i < orig_argc; i++) {
    char *a = orig_argv[i];
    if (a[0] != '-') break;
    char name[256];
    const char *val;
    int used;
    char *eq = strchr(a, '=');
    if (strncmp(a, "--", 2) == 0 && eq && eq > a) {
      if ((size_t)(eq - a) >= sizeof name) to_node("flag too long");
      memcpy(name, a, (size_t)(eq - a));
      name[eq - a] = 0;
      val = eq + 1;
      used = 1;
    } else {
      snprintf(name, sizeof name, "%s", a);
      val = i + 1 < orig_argc ? orig_argv[i + 1] : NULL;
      used = 2;
    }
    if (!strcmp(name, "--runtime-binary") || !strcmp(name, "--capctl-state-dir") || !strcmp(name, "--capctl-audit")) {
      if (!val) to_node("flag without a value");
      if (!strcmp(name, "--capctl-state-dir")) state = val;
      if (!strcmp(name, "--capctl-audit")) audit = val;
      i += used - 1;
      continue;
    }
    pass[np++] = a;
    if (!strcmp(name, "--log")) runc_log = val;
    if (!strcmp(name, "--log-format")) runc_log_format = val;
    if (is_value_flag(name, GLOBAL_VALUE, 5) && used == 2) {
      if (!val) to_node("flag without a value");
      pass[np++] = orig_argv[++i];
    }
  }
  if (i >= orig_argc) to_node("no command");
  cmd = orig_argv[i];
  if (strcmp(cmd, "create") != 0 && strcmp(cmd, "run") != 0) to_node("not create or run");
  for (int j = i; j < orig_argc; j++) pass[np++] = orig_argv[j];
  pass[np] = NULL;
  for (int j = i + 1; j < orig_argc; j++) {
    const char *a = orig_argv[j];
    if (a[0] != '-') {
      id = a;
      continue;
    }
    const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
    char name[256];
    const char *val;
    int used;
    if (eq && eq > a) {
      if ((size_t)(eq - a) >= sizeof name) to_node("flag too long");
      memcpy(name, a, (size_t)(eq - a));
      name[eq - a] = 0;
      val = eq + 1;
      used = 1;
    } else {
      snprintf(name, sizeof name, "%s", a);
      val = j + 1 < orig_argc ? orig_argv[j + 1] : NULL;
      used = 2;
    }
    if (!strcmp(name, "--bundle") || !strcmp(name, "-b")) bundle = val;
    if (is_value_flag(name, CREATE_VALUE, 6)) j += used - 1;
  }
  if (!id) to_node("no container id");
  if (!bundle || !normal_abs(bundle)) to_node("bundle path not absolute and normal");

  /* policy/paths.ts resolveStateDir (as root). */
  if (!state) state = getenv("CAPCTL_STATE_DIR") && *getenv("CAPCTL_STATE_DIR") ? getenv("CAPCTL_STATE_DIR") : "/var/db/capctl";
  if (!normal_abs(state)) to_node("state directory not absolute and normal");
  char audit_default[PATH_MAX];
  if (!audit) {
    snprintf(audit_default, sizeof audit_default, "%s/audit.log", state);
    audit = audit_default;
  }
  if (!normal_abs(audit)) to_node("audit log path not absolute and normal");

  /* bundle.ts readBundle: config.json, a regular file (a symlink is left to the Node path). */
  char cfgpath[PATH_MAX];
  if (snprintf(cfgpath, sizeof cfgpath, "%s/config.json", strcmp(bundle, "/") ? bundle : "") >= (int)sizeof cfgpath)
    to_node("path too long");
  struct stat cst;
  if (lstat(cfgpath, &cst) != 0 || !S_ISREG(cst.st_mode)) to_node("config.json missing or not a regular file");
  Buf text = {0};
  if (read_file(cfgpath, 64u << 20, 0, 1, &text) != 0) to_node("config.json unreadable");
  const char *why = NULL;
  J *cfg = parse(text.p, text.n, 1, &why);
  /* JSON whose rewrite this program cannot reproduce: it still tells whether there is an
   * annotation; with one, the Node path rewrites it. */
  J *doc = cfg ? cfg : parse(text.p, text.n, 0, &why);
  if (!doc || doc->t != J_OBJ) to_node(!doc && why ? why : "config.json not understood");
  J *ann = get(doc, "annotations");
  if (ann && ann->t != J_OBJ) to_node("annotations is not an object");
  J *ref = get(ann, "io.capctl.profile");
  if (ref && !cfg) to_node(why ? why : "config.json not understood");
  if (ref && get(cfg, "freebsd")) to_node("FreeBSD bundle");

  if (!ref) {
    /* No annotation: the container has a profile only through a binding (Node path). */
    struct stat st;
    if (stat(state, &st) != 0) {
      if (errno != ENOENT) to_node("state directory not readable");
    } else {
      char bf[PATH_MAX];
      snprintf(bf, sizeof bf, "%s/bindings.json", state);
      if (lstat(bf, &st) == 0 || errno != ENOENT) to_node("bindings exist");
      if (!trusted_dir(state)) to_node("state directory untrusted");
    }
    dbg("fast path: no profile");
    execv(real, pass);
    fail("cannot run %s: %s", real, strerror(errno));
    return 1;
  }
  const char *r = str(ref);
  if (!r || !*r) to_node("annotation is not a profile reference");

  /* profile-store.ts profileRefToFile. */
  char pfile[PATH_MAX];
  if (r[0] == '/') {
    struct stat st;
    if (strlen(r) >= PATH_MAX || stat(r, &st) != 0) to_node("profile path");
    snprintf(pfile, sizeof pfile, "%s", r);
  } else {
    size_t rl = strlen(r);
    int yaml = (rl >= 5 && !strcasecmp(r + rl - 5, ".yaml")) || (rl >= 4 && !strcasecmp(r + rl - 4, ".yml"));
    if (strchr(r, '/') || yaml) to_node("not a profile name");
    find_named_profile(r, state, pfile);
  }

  Compiled c;
  load_compiled(state, pfile, &c);

  /* The container's name for the record: the engines' name annotations, else podman's storage. */
  const char *cname = NULL;
  for (size_t k = 0; k < sizeof NAME_ANNOTATIONS / sizeof *NAME_ANNOTATIONS && !cname; k++) {
    J *nv = get(ann, NAME_ANNOTATIONS[k]);
    if (nv && nv->t == J_STR && nv->sn != strlen(nv->s)) to_node("container name with a NUL");
    const char *v = str(nv);
    if (v && *v) cname = v;
  }
  if (!cname) cname = podman_name(bundle, id);

  /* oci.ts applyProfileToConfig (Linux) and stringifyLike. */
  J *proc = child(cfg, "process");
  J *caps = child(proc, "capabilities");
  for (int s = 0; s < 5; s++) {
    J *list = jnew(J_ARR);
    for (int b = 0; b < 64; b++)
      if (c.sets[s] >> b & 1) {
        J *n = jnew(J_STR);
        n->s = (char *)CAP_NAMES[b];
        n->sn = strlen(n->s);
        jpush(list, NULL, 0, n);
      }
    put(caps, CAP_KEYS[s], list);
  }
  if (c.nnp) put(proc, "noNewPrivileges", jnew(J_TRUE));
  /* The file's own layout: the indent of its first key (at most 10 characters, as
   * JSON.stringify takes), and a final newline if it had one. */
  char ind[11] = "";
  {
    const char *p = text.p;
    size_t k = 0;
    if (text.n > 2 && p[0] == '{') {
      size_t o = 1;
      if (p[o] == '\r') o++;
      if (o < text.n && p[o] == '\n') {
        o++;
        size_t st = o;
        while (o < text.n && (p[o] == ' ' || p[o] == '\t')) o++;
        if (o > st && o < text.n && p[o] == '"') k = o - st;
        if (k > 10) k = 10;
        memcpy(ind, p + st, k);
        ind[k] = 0;
      }
    }
  }
  Buf out = {0};
  ser(&out, cfg, ind, 0);
  if (text.n > 0 && text.p[text.n - 1] == '\n') bput(&out, "\n", 1);
  if (out.n != text.n || memcmp(out.p, text.p, out.n) != 0) {
    if (atomic_write(bundle, cfgpath, &out, cst.st_mode & 07777) != 0) to_node("cannot write config.json");
  }

  /* The audit record (audit/attach-log.ts attachRecordLine: the same keys in the same order). */
  char now[96];
  iso_now(now);
  Buf line = {0};
  bputs(&line, "{\"level\":\"info\",\"verdict\":\"attached\",\"profile\":");
  quote(&line, c.name, strlen(c.name));
  bputs(&line, ",\"profileFile\":");
  quote(&line, c.file, strlen(c.file));
  bputs(&line, ",\"sha256\":");
  quote(&line, c.sha, strlen(c.sha));
  bputs(&line, ",\"containerId\":");
  quote(&line, id, strlen(id));
  if (cname) {
    bputs(&line, ",\"containerName\":");
    quote(&line, cname, strlen(cname));
  }
  bputs(&line, ",\"via\":\"annotation\",\"bundle\":");
  quote(&line, bundle, strlen(bundle));
  bputs(&line, ",\"time\":\"");
  bputs(&line, now);
  bputs(&line, "\"}\n");
  if (!valid_utf8(line.p, line.n)) to_node("record is not UTF-8");
  if (append_audit(audit, &line) != 0) to_node("cannot append the audit record");

  dbg("fast path: profile %s applied", c.name);
  execv(real, pass);
  fail("cannot run %s: %s", real, strerror(errno));
  return 1;
}
