import type { StaffRow } from '../tables';

/** A multileaf collimator model: how many leaf pairs, where they are, and how far they may travel. */
export interface MlcModel {
  name: 'Agility' | 'Millennium120';
  /** Leaf pairs (= MLC_Leaves, the used slots of each bank). */
  leafPairs: number;
  /** Leaf-pair boundaries along Y at isocentre (cm), `leafPairs + 1` ascending values. */
  boundaries: Float64Array;
  /** |position| may not exceed this (cm). */
  positionLimit: number;
  /** Smallest gap B − A of an open pair (cm). */
  minGap: number;
  /** Largest leaf travel between consecutive VMAT control points (cm). */
  maxTravelPerControlPoint: number;
  /** Whether the head has X jaws (Agility has none: Coll_X1/X2 stay at ±20 cm). */
  hasXJaws: boolean;
  /** TxFieldPoint.MLC_Type as the sample shows it for Agility (2); 1 is our choice for Millennium. */
  mlcType: number;
}

function uniformBoundaries(pairs: number, width: number): Float64Array {
  const b = new Float64Array(pairs + 1);
  for (let i = 0; i <= pairs; i++) b[i] = -(pairs * width) / 2 + i * width;
  return b;
}

/** Elekta Agility: 80 pairs of 0.5 cm leaves over 40 cm. */
export const AGILITY: MlcModel = {
  name: 'Agility',
  leafPairs: 80,
  boundaries: uniformBoundaries(80, 0.5),
  positionLimit: 20,
  minGap: 0.3,
  maxTravelPerControlPoint: 1.2,
  hasXJaws: false,
  mlcType: 2,
};

/** Varian Millennium 120: 60 pairs, 10 × 1 cm, 40 × 0.5 cm, 10 × 1 cm over 40 cm. */
export const MILLENNIUM_120: MlcModel = {
  name: 'Millennium120',
  leafPairs: 60,
  boundaries: (() => {
    const b = new Float64Array(61);
    let y = -20;
    for (let i = 0; i < 60; i++) {
      b[i] = y;
      y += i < 10 || i >= 50 ? 1 : 0.5;
    }
    b[60] = y;
    return b;
  })(),
  positionLimit: 20,
  minGap: 0.1,
  maxTravelPerControlPoint: 1.0,
  hasXJaws: true,
  mlcType: 1,
};

/** A treatment machine of the synthetic clinic. */
export interface MachineSpec {
  staffId: number;
  name: string;
  mlc: MlcModel;
  /** Photon energies (MV) it offers. */
  photonEnergies: readonly number[];
  /** Whether it has electron applicators. */
  electrons: boolean;
  /** Maximum dose rate (MU/min). */
  maxDoseRate: number;
}

export const DEFAULT_MACHINES: readonly MachineSpec[] = [
  { staffId: 901, name: 'LA1', mlc: AGILITY, photonEnergies: [6, 10], electrons: true, maxDoseRate: 600 },
  { staffId: 902, name: 'LA2', mlc: AGILITY, photonEnergies: [6, 10], electrons: false, maxDoseRate: 600 },
  { staffId: 903, name: 'LA3', mlc: AGILITY, photonEnergies: [6, 15], electrons: true, maxDoseRate: 600 },
  {
    staffId: 904,
    name: 'TB1',
    mlc: MILLENNIUM_120,
    photonEnergies: [6, 15],
    electrons: true,
    maxDoseRate: 600,
  },
];

/** The Staff row Mosaiq keeps for a machine (Last_Name is a space-padded char column). */
export function machineStaffRow(m: MachineSpec): StaffRow {
  return {
    Staff_ID: m.staffId,
    Type: 'Machine',
    Category: null,
    Last_Name: m.name.padEnd(20, ' '),
    First_Name: m.mlc.name,
    Machine_Type: 1,
    Status_inactive: false,
  };
}
