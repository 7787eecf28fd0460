/**
 * Mosaiq stores naive local times (`datetime` without a zone); its adapters hand them over as
 * `Date`s whose UTC fields are that wall clock. The monitor runs in the clinic's time zone (the
 * process's, `TZ`), so these two conversions turn a wall clock into an instant and back.
 */

/** The instant (ms since the epoch) of a Mosaiq wall-clock time, in this process's time zone. */
export function mosaiqInstant(wall: Date): number {
  return new Date(
    wall.getUTCFullYear(),
    wall.getUTCMonth(),
    wall.getUTCDate(),
    wall.getUTCHours(),
    wall.getUTCMinutes(),
    wall.getUTCSeconds(),
    wall.getUTCMilliseconds(),
  ).getTime();
}

/** The Mosaiq wall clock of an instant: what a Mosaiq in this time zone would store for it. */
export function mosaiqWallClock(instant: number): Date {
  const d = new Date(instant);
  return new Date(
    Date.UTC(
      d.getFullYear(),
      d.getMonth(),
      d.getDate(),
      d.getHours(),
      d.getMinutes(),
      d.getSeconds(),
      d.getMilliseconds(),
    ),
  );
}
