/**
 * The TDS test server in its own process, so the benchmark's CPU time is the client's (driver,
 * decoding, record assembly) and the server's work runs on the other core, as a real SQL Server
 * would. Prints `{ "port": n }` once listening; stops when its parent disconnects.
 */
import { startTestServer } from '../src/test-server/server';

const server = await startTestServer({ databases: ['bench'] });
process.send?.({ port: server.port, url: server.url('bench') });
process.on('disconnect', () => {
  server.close().finally(() => process.exit(0));
});
