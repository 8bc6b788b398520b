/**
 * Linux x86-64 errno numbers (include/uapi/asm-generic/errno-base.h and errno.h), both
 * directions. Syscalls in the runtime return `{ ret: -1, errno }` with these values, exactly as
 * the kernel's negative return value would be reported by libc.
 */

export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const ENOEXEC = 8;
export const EBADF = 9;
export const ECHILD = 10;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const ENOTBLK = 15;
export const EBUSY = 16;
export const EEXIST = 17;
export const EXDEV = 18;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const ENOTTY = 25;
export const ETXTBSY = 26;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EROFS = 30;
export const EMLINK = 31;
export const EPIPE = 32;
export const EDOM = 33;
export const ERANGE = 34;
export const EDEADLK = 35;
export const ENAMETOOLONG = 36;
export const ENOLCK = 37;
export const ENOSYS = 38;
export const ENOTEMPTY = 39;
export const ELOOP = 40;
export const ENOMSG = 42;
export const EIDRM = 43;
export const ENODATA = 61;
export const ETIME = 62;
export const EOVERFLOW = 75;
export const EBADFD = 77;
export const EILSEQ = 84;
export const EUSERS = 87;
export const ENOTSOCK = 88;
export const EDESTADDRREQ = 89;
export const EMSGSIZE = 90;
export const EPROTOTYPE = 91;
export const ENOPROTOOPT = 92;
export const EPROTONOSUPPORT = 93;
export const ESOCKTNOSUPPORT = 94;
export const EOPNOTSUPP = 95;
export const EPFNOSUPPORT = 96;
export const EAFNOSUPPORT = 97;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
export const ENETDOWN = 100;
export const ENETUNREACH = 101;
export const ECONNABORTED = 103;
export const ECONNRESET = 104;
export const ENOBUFS = 105;
export const EISCONN = 106;
export const ENOTCONN = 107;
export const ETIMEDOUT = 110;
export const ECONNREFUSED = 111;
export const EHOSTUNREACH = 113;
export const EALREADY = 114;
export const EINPROGRESS = 115;
export const ESTALE = 116;
export const EDQUOT = 122;
export const ECANCELED = 125;
export const ENOKEY = 126;
export const EOWNERDEAD = 130;
export const ERFKILL = 132;

/** errno number → name, as strace prints it. */
export const ERRNO_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [ESRCH]: 'ESRCH',
  [EINTR]: 'EINTR',
  [EIO]: 'EIO',
  [ENXIO]: 'ENXIO',
  [E2BIG]: 'E2BIG',
  [ENOEXEC]: 'ENOEXEC',
  [EBADF]: 'EBADF',
  [ECHILD]: 'ECHILD',
  [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM',
  [EACCES]: 'EACCES',
  [EFAULT]: 'EFAULT',
  [ENOTBLK]: 'ENOTBLK',
  [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST',
  [EXDEV]: 'EXDEV',
  [ENODEV]: 'ENODEV',
  [ENOTDIR]: 'ENOTDIR',
  [EISDIR]: 'EISDIR',
  [EINVAL]: 'EINVAL',
  [ENFILE]: 'ENFILE',
  [EMFILE]: 'EMFILE',
  [ENOTTY]: 'ENOTTY',
  [ETXTBSY]: 'ETXTBSY',
  [EFBIG]: 'EFBIG',
  [ENOSPC]: 'ENOSPC',
  [ESPIPE]: 'ESPIPE',
  [EROFS]: 'EROFS',
  [EMLINK]: 'EMLINK',
  [EPIPE]: 'EPIPE',
  [EDOM]: 'EDOM',
  [ERANGE]: 'ERANGE',
  [EDEADLK]: 'EDEADLK',
  [ENAMETOOLONG]: 'ENAMETOOLONG',
  [ENOLCK]: 'ENOLCK',
  [ENOSYS]: 'ENOSYS',
  [ENOTEMPTY]: 'ENOTEMPTY',
  [ELOOP]: 'ELOOP',
  [ENOMSG]: 'ENOMSG',
  [EIDRM]: 'EIDRM',
  [ENODATA]: 'ENODATA',
  [ETIME]: 'ETIME',
  [EOVERFLOW]: 'EOVERFLOW',
  [EBADFD]: 'EBADFD',
  [EILSEQ]: 'EILSEQ',
  [EUSERS]: 'EUSERS',
  [ENOTSOCK]: 'ENOTSOCK',
  [EDESTADDRREQ]: 'EDESTADDRREQ',
  [EMSGSIZE]: 'EMSGSIZE',
  [EPROTOTYPE]: 'EPROTOTYPE',
  [ENOPROTOOPT]: 'ENOPROTOOPT',
  [EPROTONOSUPPORT]: 'EPROTONOSUPPORT',
  [ESOCKTNOSUPPORT]: 'ESOCKTNOSUPPORT',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
  [EPFNOSUPPORT]: 'EPFNOSUPPORT',
  [EAFNOSUPPORT]: 'EAFNOSUPPORT',
  [EADDRINUSE]: 'EADDRINUSE',
  [EADDRNOTAVAIL]: 'EADDRNOTAVAIL',
  [ENETDOWN]: 'ENETDOWN',
  [ENETUNREACH]: 'ENETUNREACH',
  [ECONNABORTED]: 'ECONNABORTED',
  [ECONNRESET]: 'ECONNRESET',
  [ENOBUFS]: 'ENOBUFS',
  [EISCONN]: 'EISCONN',
  [ENOTCONN]: 'ENOTCONN',
  [ETIMEDOUT]: 'ETIMEDOUT',
  [ECONNREFUSED]: 'ECONNREFUSED',
  [EHOSTUNREACH]: 'EHOSTUNREACH',
  [EALREADY]: 'EALREADY',
  [EINPROGRESS]: 'EINPROGRESS',
  [ESTALE]: 'ESTALE',
  [EDQUOT]: 'EDQUOT',
  [ECANCELED]: 'ECANCELED',
  [ENOKEY]: 'ENOKEY',
  [EOWNERDEAD]: 'EOWNERDEAD',
  [ERFKILL]: 'ERFKILL',
});

const BY_NAME: ReadonlyMap<string, number> = new Map(
  Object.entries(ERRNO_NAMES).map(([num, name]) => [name, Number(num)] as const),
);

/** `EPERM` for 1; `E<n>` style fallback (`errno 200`) for numbers the table lacks. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** 1 for `EPERM`; undefined for an unknown name. Also accepts aliases strace prints (EWOULDBLOCK, EDEADLOCK, ENOTSUP). */
export function errnoByName(name: string): number | undefined {
  if (name === 'EWOULDBLOCK') return EAGAIN;
  if (name === 'EDEADLOCK') return EDEADLK;
  if (name === 'ENOTSUP') return EOPNOTSUPP;
  return BY_NAME.get(name);
}
