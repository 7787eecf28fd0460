import type { Rng } from '@anomalia/core';
import type { SiteRow, TxFieldPointRow, TxFieldRow } from '../tables';
import {
  type ApertureShape,
  type LeafSetAllocator,
  leafSetPool,
  makeTarget,
  nextArcAperture,
  rectangleTarget,
  staticAperture,
} from './aperture';
import type { MachineSpec } from './machines';

/** Treatment techniques of the synthetic clinic. */
export type Technique = '3D' | 'IMRT' | 'VMAT' | 'ELECTRON';
/** How often a course is imaged: every fraction (CBCT), weekly portal images, or no-action-level. */
export type ImagingProtocol = 'daily' | 'weekly' | 'nal';

/** TxField.Type_Enum values used (pymedphys FIELD_TYPES). */
export const FIELD_TYPE = { static: 1, stepAndShoot: 2, port: 6, vmat: 13 } as const;
/** TxField.Modality_Enum as the synthetic clinic writes it (our choice: 1 photons, 2 electrons). */
export const MODALITY = { photon: 1, electron: 2 } as const;

interface SiteTemplate {
  name: string;
  weight: number;
  techniques: readonly (readonly [Technique, number])[];
  fractions: readonly (readonly [number, number])[];
  /** Target width and length ranges (cm). */
  size: readonly [number, number, number, number];
}

/** Fractionations used: 1, 5, 15, 20, 25, 30, 35. */
export const SITE_TEMPLATES: readonly SiteTemplate[] = [
  {
    name: 'PROSTATE',
    weight: 0.2,
    techniques: [
      ['VMAT', 0.7],
      ['IMRT', 0.3],
    ],
    fractions: [
      [20, 0.5],
      [35, 0.2],
      [5, 0.3],
    ],
    size: [5, 9, 5, 10],
  },
  {
    name: 'BREAST',
    weight: 0.24,
    techniques: [
      ['3D', 0.7],
      ['IMRT', 0.3],
    ],
    fractions: [
      [15, 0.6],
      [25, 0.3],
      [5, 0.1],
    ],
    size: [12, 20, 12, 22],
  },
  {
    name: 'LUNG',
    weight: 0.14,
    techniques: [
      ['VMAT', 0.6],
      ['3D', 0.4],
    ],
    fractions: [
      [30, 0.5],
      [5, 0.3],
      [20, 0.2],
    ],
    size: [4, 12, 4, 14],
  },
  {
    name: 'H&N',
    weight: 0.1,
    techniques: [
      ['VMAT', 0.7],
      ['IMRT', 0.3],
    ],
    fractions: [
      [35, 0.6],
      [30, 0.4],
    ],
    size: [8, 16, 10, 20],
  },
  {
    name: 'BRAIN',
    weight: 0.07,
    techniques: [
      ['VMAT', 0.5],
      ['3D', 0.5],
    ],
    fractions: [
      [30, 0.4],
      [1, 0.2],
      [5, 0.2],
      [15, 0.2],
    ],
    size: [3, 10, 3, 10],
  },
  {
    name: 'BONE METS',
    weight: 0.13,
    techniques: [
      ['3D', 0.9],
      ['VMAT', 0.1],
    ],
    fractions: [
      [1, 0.45],
      [5, 0.45],
      [20, 0.1],
    ],
    size: [6, 14, 8, 18],
  },
  {
    name: 'RECTUM',
    weight: 0.06,
    techniques: [
      ['VMAT', 0.6],
      ['3D', 0.4],
    ],
    fractions: [
      [25, 0.7],
      [5, 0.3],
    ],
    size: [10, 16, 12, 18],
  },
  {
    name: 'SKIN',
    weight: 0.06,
    techniques: [['ELECTRON', 1]],
    fractions: [
      [5, 0.3],
      [15, 0.4],
      [20, 0.3],
    ],
    size: [3, 10, 3, 10],
  },
];

function pick<T>(rng: Rng, options: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of options) total += w;
  let r = rng.random() * total;
  for (const [v, w] of options) {
    r -= w;
    if (r < 0) return v;
  }
  return options[options.length - 1]![0];
}

export function pickSiteTemplate(rng: Rng): SiteTemplate {
  return pick(
    rng,
    SITE_TEMPLATES.map((t) => [t, t.weight] as const),
  );
}

/** A log-normal draw with the given median and log-sd. */
export function logNormal(rng: Rng, median: number, sigma: number): number {
  return median * Math.exp(rng.normal(0, sigma));
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** One planned field with its control points and nominal beam-on time. */
export interface PlannedField {
  row: TxFieldRow;
  points: TxFieldPointRow[];
  /** Imaging (portal) field rather than a treatment field. */
  port: boolean;
  /** Nominal beam-on seconds at the machine's dose rate (gantry speed limits arcs). */
  beamSeconds: number;
}

/** Allocates the integer keys of every table. */
export interface IdSource {
  next(table: 'TxField' | 'TxFieldPoint' | 'Site'): number;
}

interface FieldContext {
  rng: Rng;
  ids: IdSource;
  machine: MachineSpec;
  patientId: number;
  siteSetId: number;
  created: Date;
  energy: number;
  /** Photon dose rate (MU/min): flattening-filter-free for hypofractionated courses. */
  doseRate: number;
}

function fieldRow(
  ctx: FieldContext,
  label: string,
  name: string,
  typeEnum: number,
  modality: number,
  meterset: number,
  controlPoints: number,
): TxFieldRow {
  const id = ctx.ids.next('TxField');
  return {
    FLD_ID: id,
    FLD_SET_ID: id,
    Version: 0,
    Pat_ID1: ctx.patientId,
    Create_DtTm: ctx.created,
    Create_ID: 501,
    Edit_DtTm: ctx.created,
    Edit_ID: 501,
    SIT_Set_ID: ctx.siteSetId,
    Field_Label: label,
    Field_Name: name,
    Machine_ID_Staff_ID: ctx.machine.staffId,
    Type_Enum: typeEnum,
    Modality_Enum: modality,
    ControlPoints: controlPoints,
    Meterset: round1(meterset),
  };
}

function pointRow(
  ctx: FieldContext,
  fieldId: number,
  point: number,
  index: number,
  shape: ApertureShape,
  gantry: number,
  coll: number,
  gantryDir: number,
): TxFieldPointRow {
  return {
    TFP_ID: ctx.ids.next('TxFieldPoint'),
    FLD_ID: fieldId,
    Create_DtTm: ctx.created,
    Edit_DtTm: ctx.created,
    Point: point,
    Index: round3(index),
    MLC_Leaves: ctx.machine.mlc.leafPairs,
    A_Leaf_Set: shape.a,
    B_Leaf_Set: shape.b,
    Gantry_Ang: round1(((gantry % 360) + 360) % 360),
    Coll_Ang: round1(((coll % 360) + 360) % 360),
    Field_X: round1(shape.x2 - shape.x1),
    Coll_X1: round1(shape.x1),
    Coll_X2: round1(shape.x2),
    Field_Y: round1(shape.y2 - shape.y1),
    Coll_Y1: round1(shape.y1),
    Coll_Y2: round1(shape.y2),
    MLC_Type: ctx.machine.mlc.mlcType,
    Energy: ctx.energy,
    Gantry_Dir_Enum: gantryDir,
  };
}

/** Cumulative meterset weights (0 → 100) for `n` increments of roughly equal size. */
function cumulativeWeights(rng: Rng, n: number): Float64Array {
  const w = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    w[i] = rng.uniform(0.4, 1.6);
    total += w[i]!;
  }
  const cum = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) cum[i + 1] = cum[i]! + (w[i]! / total) * 100;
  cum[n] = 100;
  return cum;
}

function copyLeafSet(blob: Uint8Array, alloc: LeafSetAllocator): Uint8Array {
  const out = alloc();
  out.set(blob);
  return out;
}

const doseRateSeconds = (mu: number, rate: number) => (mu / rate) * 60;

/** A 3D-conformal or electron field: one static control point. */
function staticField(
  ctx: FieldContext,
  label: string,
  name: string,
  meterset: number,
  gantry: number,
  shape: ApertureShape,
  modality: number,
  port = false,
): PlannedField {
  const row = fieldRow(ctx, label, name, port ? FIELD_TYPE.port : FIELD_TYPE.static, modality, meterset, 1);
  const points = [pointRow(ctx, row.FLD_ID, 0, 0, shape, gantry, 0, 3)];
  const rate = modality === MODALITY.electron ? 400 : ctx.doseRate;
  return { row, points, port, beamSeconds: doseRateSeconds(row.Meterset!, rate) };
}

/** A step-and-shoot field: control points in pairs, one pair per segment. */
function stepAndShootField(
  ctx: FieldContext,
  label: string,
  gantry: number,
  meterset: number,
  target: ReturnType<typeof makeTarget>,
): PlannedField {
  const { rng, machine } = ctx;
  const segments = rng.integer(3, 11);
  const row = fieldRow(
    ctx,
    label,
    `G${String(Math.round(gantry)).padStart(3, '0')}`,
    FIELD_TYPE.stepAndShoot,
    MODALITY.photon,
    meterset,
    2 * segments,
  );
  const cum = cumulativeWeights(rng, segments);
  const points: TxFieldPointRow[] = [];
  const alloc = leafSetPool(4 * segments);
  for (let s = 0; s < segments; s++) {
    const scale = s === 0 ? 1 : rng.uniform(0.3, 0.95);
    const hwMean = target.halfWidth.reduce((m, v) => Math.max(m, v), 0);
    const shift = rng.uniform(-0.4, 0.4) * hwMean * (1 - scale);
    const shape = staticAperture(target, machine.mlc, scale, shift, alloc);
    points.push(pointRow(ctx, row.FLD_ID, 2 * s, cum[s]!, shape, gantry, 0, 3));
    // The pair's second point has the same shape in its own bytes (rows never share blobs).
    points.push(
      pointRow(
        ctx,
        row.FLD_ID,
        2 * s + 1,
        cum[s + 1]!,
        { ...shape, a: copyLeafSet(shape.a, alloc), b: copyLeafSet(shape.b, alloc) },
        gantry,
        0,
        3,
      ),
    );
  }
  const beamSeconds = doseRateSeconds(row.Meterset!, ctx.doseRate) + segments * 1.5;
  return { row, points, port: false, beamSeconds };
}

/** A VMAT arc: 90–180 control points, the gantry sweeping at a plausible speed. */
function arcField(
  ctx: FieldContext,
  label: string,
  arcNumber: number,
  meterset: number,
  span: number,
  startGantry: number,
  clockwise: boolean,
  target: ReturnType<typeof makeTarget>,
): PlannedField {
  const { rng, machine } = ctx;
  const n = rng.integer(90, 181);
  const coll = arcNumber % 2 === 1 ? 30 : 330;
  const row = fieldRow(ctx, label, `ARC${arcNumber}`, FIELD_TYPE.vmat, MODALITY.photon, meterset, n);
  const cum = cumulativeWeights(rng, n - 1);
  const points: TxFieldPointRow[] = [];
  const alloc = leafSetPool(2 * n);
  let shape = staticAperture(target, machine.mlc, 0.9, 0, alloc);
  const dir = clockwise ? 1 : -1;
  for (let i = 0; i < n; i++) {
    if (i > 0) shape = nextArcAperture(shape, target, machine.mlc, rng, alloc);
    const gantry = startGantry + (dir * span * i) / (n - 1);
    points.push(
      pointRow(ctx, row.FLD_ID, i, cum[i]!, shape, gantry, coll, i === n - 1 ? 3 : clockwise ? 1 : 2),
    );
  }
  // Elekta gantries turn at most 6°/s, so an arc lasts at least span / 5.5 s whatever the MU.
  const beamSeconds = Math.max(doseRateSeconds(row.Meterset!, ctx.doseRate), span / 5.5);
  return { row, points, port: false, beamSeconds };
}

/** A planned course: its site, fields and imaging. */
export interface CoursePlan {
  site: SiteRow;
  technique: Technique;
  fractions: number;
  imaging: ImagingProtocol;
  fields: PlannedField[];
}

/**
 * Plans a course for one patient: site, fractionation, technique, fields with control points and
 * MU. Meterset is log-normal per technique (3D 65–120 MU per field, step-and-shoot ~45 MU per field, arcs
 * ~300 MU, more per fraction for hypofractionation), with portal-imaging fields of a few MU.
 */
export function planCourse(
  rng: Rng,
  ids: IdSource,
  machine: MachineSpec,
  patientId: number,
  created: Date,
): CoursePlan {
  let template = pickSiteTemplate(rng);
  let technique = pick(rng, template.techniques);
  if (technique === 'ELECTRON' && !machine.electrons) {
    template = SITE_TEMPLATES.find((t) => t.name === 'BONE METS')!;
    technique = '3D';
  }
  const fractions = pick(rng, template.fractions);
  const siteId = ids.next('Site');
  const dosePerFraction =
    fractions === 1 ? 800 : fractions === 5 ? rng.uniform(600, 800) : fractions === 15 ? 267 : 200;
  const photonEnergy = machine.photonEnergies[technique === '3D' && rng.random() < 0.35 ? 1 : 0]!;
  const electronEnergy = rng.choice([6, 9, 12, 15], 1)[0]!;
  const energy = technique === 'ELECTRON' ? electronEnergy : photonEnergy;
  const site: SiteRow = {
    SIT_ID: siteId,
    SIT_SET_ID: siteId,
    Version: 0,
    Pat_ID1: patientId,
    Create_DtTm: created,
    Edit_DtTm: created,
    Site_Name: template.name,
    Technique: technique,
    Modality: technique === 'ELECTRON' ? 'Electrons' : 'Xrays',
    Energy: energy,
    Dose_Tx: Math.round(dosePerFraction),
    Dose_Ttl: Math.round(dosePerFraction * fractions),
    Fractions: fractions,
    Frac_Pattern: 'Weekdays',
  };
  // Hypofractionated photon courses use flattening-filter-free beams at 1400 MU/min.
  const doseRate = fractions <= 5 && technique !== 'ELECTRON' ? 1400 : machine.maxDoseRate;
  const ctx: FieldContext = { rng, ids, machine, patientId, siteSetId: siteId, created, energy, doseRate };
  const [wLo, wHi, lLo, lHi] = template.size;
  const width = rng.uniform(wLo, wHi);
  const length = rng.uniform(lLo, lHi);
  const hypo = fractions <= 5 ? dosePerFraction / 200 : 1;
  const fields: PlannedField[] = [];
  let imaging: ImagingProtocol;
  if (technique === '3D') {
    imaging = rng.random() < 0.5 ? 'weekly' : 'nal';
    const n = rng.integer(2, 5);
    const start = template.name === 'BREAST' ? rng.uniform(290, 320) : rng.choice([0, 90, 45], 1)[0]!;
    const target = makeTarget(rng, machine.mlc, width, length);
    for (let f = 0; f < n; f++) {
      const gantry = n === 2 ? start + 180 * f : start + (360 / n) * f + rng.uniform(-10, 10);
      // Fewer fields carry more MU each: ~120 MU for opposed pairs, ~65 MU for a four-field box.
      const mu = logNormal(rng, n === 2 ? 120 : n === 3 ? 85 : 65, 0.3) * hypo;
      fields.push(
        staticField(
          ctx,
          `1-${f + 1}`,
          `F${f + 1}`,
          mu,
          gantry,
          staticAperture(target, machine.mlc, 1),
          MODALITY.photon,
        ),
      );
    }
  } else if (technique === 'IMRT') {
    imaging = 'daily';
    const n = rng.integer(5, 10);
    const target = makeTarget(rng, machine.mlc, width, length);
    const start = rng.uniform(0, 360 / n);
    for (let f = 0; f < n; f++) {
      const mu = logNormal(rng, 45, 0.5) * hypo;
      fields.push(stepAndShootField(ctx, `1-${f + 1}`, start + (360 / n) * f, mu, target));
    }
  } else if (technique === 'VMAT') {
    imaging = 'daily';
    const arcs = rng.random() < 0.55 ? 2 : 1;
    const target = makeTarget(rng, machine.mlc, width, length);
    const full = template.name !== 'BREAST' && template.name !== 'LUNG' ? true : rng.random() < 0.5;
    const span = full ? 358 : rng.uniform(180, 240);
    const start = full ? 181 : rng.uniform(0, 360);
    const arcMu = logNormal(rng, 300, 0.3) * hypo * (fractions === 1 ? 1.5 : 1);
    for (let a = 1; a <= arcs; a++) {
      const cw = a % 2 === 1;
      const begin = cw ? start : start + span;
      fields.push(arcField(ctx, `1-${a}`, a, arcMu * rng.uniform(0.9, 1.1), span, begin, cw, target));
    }
  } else {
    imaging = 'nal';
    const size = rng.choice([6, 10, 14], 1)[0]!;
    const shape = staticAperture(rectangleTarget(machine.mlc, size / 2 + 1, size / 2 + 1), machine.mlc);
    fields.push(
      staticField(
        ctx,
        '1-1',
        `E${energy}`,
        logNormal(rng, 150, 0.25),
        rng.uniform(0, 60),
        shape,
        MODALITY.electron,
      ),
    );
  }
  if (technique === '3D' || technique === 'IMRT') {
    // Orthogonal MV portal images of a few MU each, delivered on imaging days.
    const shape = staticAperture(rectangleTarget(machine.mlc, 7.5, 7.5), machine.mlc);
    fields.push(staticField(ctx, 'P-1', 'PORT AP', rng.uniform(2, 4), 0, shape, MODALITY.photon, true));
    fields.push(staticField(ctx, 'P-2', 'PORT LAT', rng.uniform(2, 4), 270, shape, MODALITY.photon, true));
  }
  return { site, technique, fractions, imaging, fields };
}

/** The machine-QA "patient" course: open fields and MLC test fields delivered in QA mode each morning. */
export function planMachineQa(
  rng: Rng,
  ids: IdSource,
  machine: MachineSpec,
  patientId: number,
  created: Date,
): CoursePlan {
  const siteId = ids.next('Site');
  const site: SiteRow = {
    SIT_ID: siteId,
    SIT_SET_ID: siteId,
    Version: 0,
    Pat_ID1: patientId,
    Create_DtTm: created,
    Edit_DtTm: created,
    Site_Name: `QA ${machine.name}`,
    Technique: 'QA',
    Modality: 'Xrays',
    Energy: machine.photonEnergies[0]!,
    Dose_Tx: 100,
    Dose_Ttl: 0,
    Fractions: 999,
    Frac_Pattern: 'Daily',
  };
  const fields: PlannedField[] = [];
  let label = 1;
  for (const energy of machine.photonEnergies) {
    const ctx: FieldContext = {
      rng,
      ids,
      machine,
      patientId,
      siteSetId: siteId,
      created,
      energy,
      doseRate: machine.maxDoseRate,
    };
    const open = staticAperture(rectangleTarget(machine.mlc, 5, 5), machine.mlc);
    fields.push(staticField(ctx, `QA-${label++}`, `${energy}X 10x10`, 100, 0, open, MODALITY.photon));
    const target = makeTarget(rng, machine.mlc, 10, 10);
    fields.push(stepAndShootField(ctx, `QA-${label++}`, 0, 100, target));
  }
  if (machine.electrons) {
    const ctx: FieldContext = {
      rng,
      ids,
      machine,
      patientId,
      siteSetId: siteId,
      created,
      energy: 9,
      doseRate: machine.maxDoseRate,
    };
    const open = staticAperture(rectangleTarget(machine.mlc, 6, 6), machine.mlc);
    fields.push(staticField(ctx, `QA-${label++}`, 'E9 10x10', 100, 0, open, MODALITY.electron));
  }
  return { site, technique: '3D', fractions: 999, imaging: 'nal', fields };
}
