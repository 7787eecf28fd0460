import { parseArgs } from 'node:util';
import { ValidationError } from '@anomalia/core';
import { tableChecksum } from './checksum';
import { openTreatmentReader } from './reader';
import { createSandbox, isSandbox, markAsSandbox } from './sandbox';

export const USAGE = `anomalia-db-mssql <command> [--url URL] [options]

  check            connect read-only, check the Mosaiq tables, print row counts,
                   whether the database is a sandbox and the change cursor's safe point
  mark-sandbox     mark a copy of Mosaiq as a sandbox (needs --confirm; never production)
  create-sandbox   make an empty database a Mosaiq-shaped sandbox (needs --confirm);
                   --records N loads a synthetic clinic of N treatments (--seed S)
  checksum         SHA-256 of the Mosaiq tables (equal before a run and after its restore)

The URL (mssql://user@host:port/database?options, or a SQL Server connection string) comes
from --url or MSSQL_URL; the password from the URL or from $MSSQL_PASSWORD (see passwordEnv).
Output: one JSON line.`;

/** The command line; returns the exit code. */
export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  print: (line: string) => void,
): Promise<number> {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      confirm: { type: 'boolean', default: false },
      records: { type: 'string' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    print(USAGE);
    return command || values.help ? 0 : 2;
  }
  const url = values.url ?? env.MSSQL_URL;
  if (!url) throw new ValidationError('--url', 'a connection URL (or MSSQL_URL in the environment)');
  const int = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) throw new ValidationError(`--${name}`, 'a whole number', text);
    return Number(text);
  };
  const confirm = () => {
    if (!values.confirm) {
      throw new ValidationError(
        '--confirm',
        'the flag (a sandbox is a database Anomalia may corrupt on purpose)',
      );
    }
    return true as const;
  };
  switch (command) {
    case 'check': {
      const reader = await openTreatmentReader(url, { env });
      try {
        print(
          JSON.stringify({
            target: reader.label,
            tables: await reader.tableCounts(),
            sandbox: await isSandbox(url, { env }),
            watermark: await reader.currentWatermark(),
          }),
        );
      } finally {
        await reader.close();
      }
      return 0;
    }
    case 'mark-sandbox':
      print(JSON.stringify(await markAsSandbox(url, { confirm: confirm(), env })));
      return 0;
    case 'create-sandbox': {
      const records = int('records', values.records);
      const seed = int('seed', values.seed) ?? 1;
      const info = await createSandbox(url, {
        confirm: confirm(),
        env,
        ...(records ? { clinic: { seed, records } } : {}),
      });
      print(JSON.stringify(info));
      return 0;
    }
    case 'checksum':
      print(JSON.stringify(await tableChecksum(url, { env })));
      return 0;
    default:
      throw new ValidationError('command', 'check, mark-sandbox, create-sandbox or checksum', command);
  }
}
