/**
 * A worker process for the distributed test and the backfill benchmark: `anomalia-monitor worker`
 * (the real command) with sites over db-sqlite files. Usage:
 * queue-worker-child.ts <config.json> <roles> [<score log> [<delay ms per scoring call>]]
 */
import { main } from '../main';
import { sqliteSiteParts } from './sqlite-site';

const [configPath, roles, scoreLog, delay] = process.argv.slice(2);
process.exitCode = await main(['worker', '--config', configPath!, '--roles', roles!], {
  createParts: async (config) => {
    const db = config.source.database;
    if (db.type !== 'sqlite') throw new Error('sqlite sites only');
    return sqliteSiteParts(db.path, config.source.name, {
      ...(scoreLog ? { scoreLog } : {}),
      ...(delay ? { delayMs: Number(delay) } : {}),
    });
  },
});
