import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Fields that may hold a patient identifier, at the top level or one object down. Alerts and
 * records are logged through these names only, so redaction cannot be bypassed by accident.
 */
export const PATIENT_FIELDS = ['patientId', 'subject', 'patient'];
const REDACT_PATHS = PATIENT_FIELDS.flatMap((f) => [
  f,
  `*.${f}`,
  `labels.${f}`,
  `*.labels.${f}`,
  `groupLabels.${f}`,
  `*.groupLabels.${f}`,
]);

export interface LoggerOptions {
  readonly level: string;
  readonly redactPatientIdentifiers: boolean;
}

/** JSON log lines (pino) on stderr by default, patient identifiers replaced by `[redacted]`. */
export function createLogger(
  options: LoggerOptions,
  destination: pino.DestinationStream = pino.destination(2),
): Logger {
  return pino(
    {
      level: options.level,
      base: { app: 'anomalia-monitor' },
      timestamp: pino.stdTimeFunctions.isoTime,
      ...(options.redactPatientIdentifiers ? { redact: { paths: REDACT_PATHS, censor: '[redacted]' } } : {}),
    },
    destination,
  );
}
