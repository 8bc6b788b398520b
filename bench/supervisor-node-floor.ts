/**
 * The Node floor for `capctl run`'s intercepted calls: bench/supervisor-floor.c's capget loop
 * ("external" mode: it only starts the program and hands over the listener fd), supervised from
 * a Node worker thread through capctl's own Listener (src/sys/seccomp.ts) with the same five
 * calls, answering a fixed result — no decode, no runtime. Between the C floor and this row is
 * the cost of Node, V8 and koffi; between this row and `capctl run` is capctl's decode, dispatch
 * and bookkeeping.
 *
 *   node dist/bench/supervisor-node-floor.js FLOOR_BINARY N   → prints the loop's calls/s
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { closeFd, Listener, pidfdGetfd, pidfdOpen } from '../src/sys/seccomp.js';

const DATA = [0x1234, 0x1234, 0, 0, 0, 0];

function supervise(fd: number): void {
  const l = new Listener(fd);
  parentPort!.postMessage(l.syncWakeup());
  const n = l.notif;
  const dv = new DataView(l.mem.buffer, l.mem.byteOffset, l.mem.byteLength);
  for (;;) {
    const e = l.receive();
    if (e !== 0) {
      if (e === 2 || e === 4) continue;
      return;
    }
    const id = n.id;
    const tid = n.pid;
    l.read(tid, n.args[0]!, 8);
    if (!l.idValid(id)) continue;
    for (let i = 0; i < 6; i++) dv.setUint32(i * 4, DATA[i]!, true);
    l.write(tid, n.args[1]!, 24);
    l.respond(id, 0, 0);
  }
}

async function main(): Promise<void> {
  const [bin, count] = process.argv.slice(2);
  const child = spawn(bin!, [count!, '0', 'external'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = (await lines.next()).value as string;
  const [pid, childFd] = first.split(' ').map(Number) as [number, number];
  const pidfd = pidfdOpen(pid);
  const fd = pidfdGetfd(pidfd, childFd);
  closeFd(pidfd);
  const worker = new Worker(new URL(import.meta.url), { workerData: fd });
  worker.unref();
  await new Promise((r) => worker.once('message', r));
  child.stdin!.end('g');
  const rate = (await lines.next()).value as string;
  await exited;
  process.stdout.write(`${rate}\n`);
  process.exit(child.exitCode ?? 1);
}

if (isMainThread) await main();
else supervise(workerData as number);
