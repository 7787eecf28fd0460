/**
 * A webhook receiver in its own process, so a test can kill -9 it in the middle of a delivery:
 * every POST is appended (with its Idempotency-Key) to a log file and fsynced, then held for
 * `holdMs` before the 200 (a kill during the hold leaves the sender without an answer). The first
 * `rejectFirst` POSTs get a 503 instead (a sink that rejects). Prints `listening <port>` and, for
 * each held request, `hold <id>`.
 * Usage: receiver-child.ts <log.jsonl> <port, 0: any> <rejectFirst> <holdMs>
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const [log, portArg, rejectArg, holdArg] = process.argv.slice(2);
let reject = Number(rejectArg);
const hold = Number(holdArg);
const fd = openSync(log!, 'a');

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const id = String(req.headers['idempotency-key'] ?? '');
    if (reject > 0) {
      reject--;
      res.writeHead(503).end('busy');
      return;
    }
    writeSync(
      fd,
      `${JSON.stringify({ id, at: Date.now(), body: Buffer.concat(chunks).toString('utf8') })}\n`,
    );
    fsyncSync(fd);
    process.stdout.write(`hold ${id}\n`);
    setTimeout(() => res.writeHead(200).end('ok'), hold);
  });
});
server.listen(Number(portArg), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  closeSync(fd);
  process.exit(0);
});
