/** The example of docs/runtime.md, run as written (output checked instead of printed). */
import { describe, expect, it } from 'vitest';
import { AF_INET, Credential, createRuntime, PR_CAPBSET_READ, SOCK_RAW } from '../../src/runtime/index.js';

describe('docs/runtime.md example', () => {
  it('runs and gives the documented results', () => {
    const rt = createRuntime();
    const init = rt.spawn(Credential.root(), { tid: 1 });
    const child = rt.fork(init.tid, 200);
    const hdr = { version: 0x20080522, pid: 0 };
    const data = { words: new Uint32Array([0xa1, 0xa1, 0, 0, 0, 0]) };
    expect(rt.capset(child.tid, hdr, data)).toEqual({ ret: 0, errno: 0 });
    const out = { words: new Uint32Array(6) };
    rt.capget(init.tid, { version: 0x20080522, pid: 200 }, out);
    expect([...out.words]).toEqual([161, 161, 0, 0, 0, 0]);
    expect(rt.prctl(200, PR_CAPBSET_READ, 13)).toEqual({ ret: 1, errno: 0 });
    expect(rt.socket(200, AF_INET, SOCK_RAW, 1)).toEqual({ ret: -1, errno: 1 });
    expect(rt.setuid(200, 1000)).toEqual({ ret: 0, errno: 0 });
    expect(rt.cred(200).toJSON().effective).toBe('0000000000000000');
    expect(rt.execve(200, { mode: 0o4755, uid: 0 })).toEqual({ ret: 0, errno: 0, atSecure: true, tid: 200 });
    expect(rt.cred(200).effective.toNames()).toHaveLength(41);
  });
});
