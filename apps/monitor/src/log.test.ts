import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log';

function capture(redact: boolean) {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (c) =>
    String(c)
      .trim()
      .split('\n')
      .forEach((l) => {
        if (l) lines.push(JSON.parse(l));
      }),
  );
  return { logger: createLogger({ level: 'info', redactPatientIdentifiers: redact }, stream), lines };
}

describe('createLogger', () => {
  it('redacts patient identifiers at the top level, one object down and in labels', () => {
    const { logger, lines } = capture(true);
    logger.info(
      {
        patientId: 'PAT-1',
        alert: { subject: 'PAT-2', labels: { patient: 'PAT-3', band: 'high' } },
        groupLabels: { patient: 'PAT-4' },
        recordId: '77',
      },
      'x',
    );
    expect(lines[0]).toMatchObject({
      patientId: '[redacted]',
      alert: { subject: '[redacted]', labels: { patient: '[redacted]', band: 'high' } },
      groupLabels: { patient: '[redacted]' },
      recordId: '77',
      app: 'anomalia-monitor',
      msg: 'x',
    });
    expect(JSON.stringify(lines)).not.toContain('PAT-');
  });

  it('keeps them when redaction is turned off', () => {
    const { logger, lines } = capture(false);
    logger.info({ patientId: 'PAT-1' }, 'x');
    expect(lines[0]!.patientId).toBe('PAT-1');
  });
});
