import { Rng, ValidationError } from '@anomalia/core';
import type { StaffRow } from '../tables';
import type { MachineSpec } from './machines';

/** Therapists in each machine's pool; two of them are on duty on a machine each day. */
export const THERAPISTS_PER_MACHINE = 4;
/** Dosimetrists (they create and edit fields) and physicists (machine QA, patient QA, late edits). */
export const DOSIMETRIST_IDS: readonly number[] = [501, 502, 503];
export const PHYSICIST_IDS: readonly number[] = [701, 702];
/** The first therapist's Staff_ID; machine m (0-based) has THERAPISTS_PER_MACHINE ids from 601 + 4m. */
const FIRST_THERAPIST = 601;

const FIRST = ['Alex', 'Sam', 'Jo', 'Kim', 'Lee', 'Max', 'Ana', 'Eli', 'Ivy', 'Noa', 'Ray', 'Zoe'];
const LAST = ['BAKER', 'CLARK', 'DAVIS', 'EVANS', 'FORD', 'GRANT', 'HAYES', 'IRWIN', 'JAMES', 'KERR'];

function personRow(id: number, type: string, i: number): StaffRow {
  return {
    Staff_ID: id,
    Type: type,
    Category: null,
    Last_Name: LAST[i % LAST.length]!.padEnd(20, ' '),
    First_Name: FIRST[(i * 7) % FIRST.length]!,
    Machine_Type: null,
    Status_inactive: false,
  };
}

/**
 * Who does what in the synthetic clinic: each machine has a pool of therapists, two of them on
 * duty each weekday (a seeded roster), and the therapist at the console logs every row of a
 * patient's session (TrackTreatment.Staff_ID and Create_ID). Dosimetrists create fields,
 * physicists run QA-mode deliveries and resolve records later. The roster draws from its own
 * generator (seeded from the clinic's seed), so every other column of the clinic is what it would
 * be without it.
 */
export class StaffRoster {
  private readonly rng: Rng;
  private readonly pools = new Map<number, number[]>();
  private readonly duty = new Map<string, readonly [number, number]>();
  private readonly console = new Map<string, number>();
  private readonly planner = new Map<number, number>();

  constructor(
    seed: number | string,
    private readonly machines: readonly MachineSpec[],
  ) {
    this.rng = new Rng(`${seed}:staff`);
    if (machines.length * THERAPISTS_PER_MACHINE > PHYSICIST_IDS[0]! - FIRST_THERAPIST) {
      throw new ValidationError(
        'options.machines',
        `at most ${Math.floor((PHYSICIST_IDS[0]! - FIRST_THERAPIST) / THERAPISTS_PER_MACHINE)} machines (their therapists have Staff_IDs from ${FIRST_THERAPIST})`,
        machines.length,
      );
    }
    machines.forEach((m, i) => {
      this.pools.set(
        m.staffId,
        Array.from(
          { length: THERAPISTS_PER_MACHINE },
          (_, k) => FIRST_THERAPIST + THERAPISTS_PER_MACHINE * i + k,
        ),
      );
    });
    const people = new Set(this.rows().map((r) => r.Staff_ID));
    machines.forEach((m, i) => {
      if (people.has(m.staffId)) {
        throw new ValidationError(
          `options.machines[${i}].staffId`,
          'a Staff_ID that no person of the clinic has (dosimetrists 501–503, therapists from 601, physicists 701–702)',
          m.staffId,
        );
      }
    });
  }

  /** The Staff rows of the people (machines have their own rows). */
  rows(): StaffRow[] {
    const out: StaffRow[] = [];
    let i = 0;
    for (const id of DOSIMETRIST_IDS) out.push(personRow(id, 'Dosimetrist', i++));
    for (const m of this.machines)
      for (const id of this.pools.get(m.staffId)!) out.push(personRow(id, 'Therapist', i++));
    for (const id of PHYSICIST_IDS) out.push(personRow(id, 'Physicist', i++));
    return out;
  }

  /** The two therapists on duty on a machine on a day (day index of the simulation). */
  onDuty(machineId: number, day: number): readonly [number, number] {
    const key = `${machineId}:${day}`;
    let pair = this.duty.get(key);
    if (!pair) {
      const pool = this.pools.get(machineId)!;
      const [a, b] = this.rng.choice(pool, 2);
      pair = [a!, b!];
      this.duty.set(key, pair);
    }
    return pair;
  }

  /** The therapist who treats a patient on a machine on a day (one per session). */
  therapist(machineId: number, day: number, patientId: number): number {
    const key = `${machineId}:${day}:${patientId}`;
    let id = this.console.get(key);
    if (id === undefined) {
      id = this.onDuty(machineId, day)[this.rng.random() < 0.5 ? 0 : 1];
      this.console.set(key, id);
    }
    return id;
  }

  /** The physicist who delivers QA-mode beams or resolves a record. */
  physicist(): number {
    return PHYSICIST_IDS[this.rng.integer(0, PHYSICIST_IDS.length)]!;
  }

  /** The dosimetrist who planned a site's fields (one per site set). */
  dosimetrist(siteSetId: number): number {
    let id = this.planner.get(siteSetId);
    if (id === undefined) {
      id = DOSIMETRIST_IDS[this.rng.integer(0, DOSIMETRIST_IDS.length)]!;
      this.planner.set(siteSetId, id);
    }
    return id;
  }
}
