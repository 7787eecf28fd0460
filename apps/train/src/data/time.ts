/**
 * Parses the timestamps found in our data sets into epoch milliseconds (UTC): ISO 8601
 * ("2014-07-01 00:00:00"), IMS file names ("2004.02.12.10.32.39") and day-first
 * ("12-02-2004 10:32"). Returns NaN for anything else, so callers can name the bad cell.
 */
export function parseTimestamp(text: string): number {
  const s = text.trim();
  let m = /^(\d{4})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{2})\.(\d{2})$/.exec(s);
  if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  m = /^(\d{2})-(\d{2})-(\d{4})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (m) return Date.UTC(+m[3]!, +m[2]! - 1, +m[1]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
  m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(Z)?$/.exec(s);
  if (m)
    return Date.UTC(
      +m[1]!,
      +m[2]! - 1,
      +m[3]!,
      +(m[4] ?? 0),
      +(m[5] ?? 0),
      +(m[6] ?? 0),
      m[7] ? +`0.${m[7]}` * 1000 : 0,
    );
  return Number.NaN;
}
