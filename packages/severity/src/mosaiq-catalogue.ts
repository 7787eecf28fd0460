import { type Catalogue, defineCatalogue, type ReadonlyCatalogueInput } from './catalogue';

/**
 * The Mosaiq (radiotherapy record) catalogue: the 20 failure modes of the original
 * `FAILURE_MODES` dict (10 accidental, 10 malicious) with the values of seed 001's tables.
 * Variant ids are the implementation's (e.g. `gantry_angle_drift`, not the seed's `gantry_drift`);
 * see the README's "Where the sources disagree". Rationales quote seed 001 where it gives one.
 */
const MOSAIQ_CATALOGUE_INPUT = {
  name: 'mosaiq',
  description: 'Elekta Mosaiq treatment-record failure modes (radiotherapy QA), seed 001 severities.',
  modes: [
    // ----- accidental -------------------------------------------------------------------------
    {
      id: 'corrupt_mlc_data',
      kind: 'accidental',
      description:
        'MLC leaf-position blobs (TxFieldPoint.A_Leaf_Set / B_Leaf_Set) corrupted: odd length, out-of-range positions, crossed leaf pairs or random bytes.',
      base: 1.5,
      baseRationale: 'Corruption of unknown kind: filed with random_bytes, unpredictable but usually caught.',
      variants: [
        { id: 'odd_bytes', value: 0.6, rationale: 'Parsing issue, may not affect actual treatment.' },
        { id: 'out_of_range', value: 2.0, rationale: 'Dose calculation errors likely.' },
        { id: 'negative_gap', value: 2.2, rationale: 'Physical impossibility, delivery would fail.' },
        { id: 'random_bytes', value: 1.5, rationale: 'Unpredictable effects, moderate concern.' },
      ],
      qaChecks: [
        'Verify MLC byte array length is even (2 bytes per leaf)',
        'Verify MLC positions are within physical limits (-20 cm to +20 cm typical)',
        "Verify leaf pairs don't create a negative gap (A leaf > B leaf)",
        'Verify all control points have the same number of leaves',
      ],
    },
    {
      id: 'invalid_angles',
      kind: 'accidental',
      description:
        'Gantry and/or collimator angles of control points (TxFieldPoint.Gantry_Ang, Coll_Ang) outside 0–360°.',
      base: 0.7,
      baseRationale: 'Data-entry error; mechanical limits and interlocks prevent delivery.',
      variants: [
        { id: 'gantry', value: 0.7, rationale: 'Likely data entry error; gantry has mechanical limits.' },
        { id: 'collimator', value: 0.6, rationale: 'Likely data entry error; linac has safety interlocks.' },
        {
          id: 'both',
          value: 0.8,
          rationale:
            'Still stopped by interlocks, but two bad angles point to a systematic entry or import fault.',
        },
      ],
      qaChecks: [
        'Verify Gantry_Ang and Coll_Ang are within 0–360°',
        'Verify angle changes between control points are achievable (gantry 6°/s, collimator 12°/s)',
      ],
    },
    {
      id: 'duplicate_treatments',
      kind: 'accidental',
      description:
        'The same delivery recorded twice in TrackTreatment, for the same field or with a conflicting field.',
      base: 1.2,
      baseRationale: 'Record-keeping and billing problem, between a plain duplicate and a conflicting one.',
      variants: [
        { id: 'same_field', value: 1.0, rationale: 'Likely duplicate recording, billing issue.' },
        { id: 'different_field', value: 1.5, rationale: 'Conflicting records, unclear which is correct.' },
      ],
      qaChecks: [
        'Flag TrackTreatment rows for the same patient and machine within 10 s of each other',
        'Flag conflicting FLD_ID for the same patient within 5 s',
      ],
    },
    {
      id: 'missing_control_points',
      kind: 'accidental',
      description:
        'Control points (TxFieldPoint rows) of a field deleted: one gap, several gaps, or all of them.',
      base: 2.0,
      baseRationale: 'Part of the delivery record is lost; dose reconstruction is incomplete.',
      variants: [
        { id: 'single_gap', value: 1.8, rationale: 'One missing segment.' },
        { id: 'multiple_gaps', value: 2.2, rationale: 'Severe data loss.' },
        { id: 'all_deleted', value: 2.5, rationale: 'Complete data loss, no treatment record.' },
      ],
      qaChecks: [
        'Verify control-point numbers are contiguous from 0',
        'Verify each field has at least 2 control points (static ≥ 2, VMAT ≥ 10)',
        'Verify the control-point count matches the plan',
      ],
    },
    {
      id: 'null_required_fields',
      kind: 'accidental',
      description: 'Required columns set to NULL: patient id, field id, timestamps or others.',
      base: 1.8,
      baseRationale: 'Unknown column nulled: assume a lost reference that compromises the treatment record.',
      variants: [
        { id: 'pat_id', value: 2.7, rationale: 'CRITICAL: patient identification lost.' },
        { id: 'fld_id', value: 2.3, rationale: 'Treatment plan reference lost.' },
        { id: 'timestamp', value: 1.2, rationale: 'Temporal reference lost.' },
        { id: 'other', value: 1.0, rationale: 'General data corruption, queries may fail.' },
      ],
      qaChecks: [
        'Count NULL Pat_ID1, FLD_ID and SIT_ID in TrackTreatment',
        'Count NULL Create_DtTm, Edit_DtTm and Study_DtTm',
      ],
    },
    {
      id: 'timestamp_inconsistencies',
      kind: 'accidental',
      description:
        'TrackTreatment timestamps that cannot be true: edited before created, in the future, or a non-positive duration.',
      base: 1.0,
      baseRationale: 'Audit trail and temporal references compromised; low patient risk.',
      variants: [
        { id: 'edit_before_create', value: 1.2, rationale: 'Logical impossibility, data integrity.' },
        { id: 'future_timestamp', value: 1.0, rationale: 'Clock sync issue, temporal reference problem.' },
        { id: 'negative_duration', value: 1.3, rationale: 'Data integrity issue.' },
      ],
      qaChecks: [
        'Edit_DtTm earlier than Create_DtTm',
        'Create_DtTm later than now',
        'Beam-on duration shorter than 10 s or longer than 1800 s',
        'TrackTreatment and Dose_Hst times more than 300 s apart',
      ],
    },
    {
      id: 'orphaned_records',
      kind: 'accidental',
      description:
        'Foreign keys that point nowhere: a treatment whose patient, field or site does not exist.',
      base: 2.6,
      baseRationale: 'A dangling reference may attach the treatment to the wrong patient, field or site.',
      variants: [
        { id: 'patient_id', value: 2.8, rationale: 'CRITICAL: treatment may be for the wrong patient.' },
        { id: 'field_id', value: 2.3, rationale: 'Treatment plan reference invalid.' },
        { id: 'site_id', value: 2.5, rationale: 'Treatment site reference invalid.' },
      ],
      qaChecks: [
        'LEFT JOIN TrackTreatment to Patient/Ident, TxField and Site: no missing parent',
        'LEFT JOIN TxFieldPoint to TxField and TxField to Patient: no missing parent',
      ],
    },
    {
      id: 'invalid_offset_data',
      kind: 'accidental',
      description:
        'Patient-positioning offsets (Offset) with extreme shifts, an unknown type or state, or a study time in the future.',
      base: 2.4,
      baseRationale:
        'Offset corruption of unknown kind could be a positioning error: kept just below critical (falls in the documented 2.3–2.5 gap, filed as high).',
      variants: [
        {
          id: 'extreme_values',
          value: 2.7,
          rationale: 'CRITICAL: wrong treatment position, geometric miss.',
        },
        { id: 'invalid_type', value: 1.0, rationale: 'Data quality, not affecting positioning.' },
        {
          id: 'invalid_state',
          value: 0.9,
          rationale:
            'Workflow tracking issue, not patient safety (falls in the documented 0.8–1.0 gap, filed as low).',
        },
        { id: 'future_study_time', value: 1.1, rationale: 'Temporal tracking issue.' },
      ],
      qaChecks: [
        'Each offset component within ±5 cm typical (warn > 10 cm, error > 20 cm)',
        'Offset_Type in {2 localization, 3 portal, 4 third party}',
        'Offset_State in {1 active, 2 complete}',
        'Study_DtTm between 120 min before and 30 min after the delivery',
      ],
    },
    {
      id: 'meterset_inconsistency',
      kind: 'accidental',
      description:
        'Field meterset (TxField.Meterset, MU) negative, implausibly large, or inconsistent with the control points.',
      base: 2.3,
      baseRationale: 'MU inconsistency of unknown kind: the delivered dose may be wrong.',
      variants: [
        {
          id: 'negative_meterset',
          value: 2.8,
          rationale: 'CRITICAL: physically impossible, safety interlock failure.',
        },
        { id: 'extreme_value', value: 2.6, rationale: 'Wrong dose delivered, patient harm possible.' },
        { id: 'mismatch_with_cp', value: 1.5, rationale: 'Documentation inconsistency.' },
      ],
      qaChecks: [
        'Meterset below 0',
        'Meterset above 1000 MU',
        'Control-point meterset weights consistent with the field meterset (within 2 %)',
        'Meterset z-score above 3 within the field type',
      ],
    },
    {
      id: 'mlc_leaf_count_mismatch',
      kind: 'accidental',
      description:
        "Number of MLC leaves differs between control points of a field, from the machine's MLC, or from the plan.",
      base: 1.9,
      baseRationale:
        'The leaf count does not fit the field, machine or plan: the delivered shape is uncertain.',
      variants: [
        { id: 'intra_field', value: 2.1, rationale: 'Inconsistent within field.' },
        { id: 'vs_machine', value: 2.0, rationale: "Doesn't match machine config." },
        { id: 'vs_plan', value: 1.8, rationale: "Doesn't match treatment plan." },
      ],
      qaChecks: [
        'All control points of a field have the same leaf count',
        "Leaf count equals the machine's MLC_Leaves (e.g. 80 Agility, 60 Millennium)",
        'Leaf count matches the plan',
      ],
    },
    // ----- malicious (all critical: seed 001, "all malicious failure modes have severity ≥ 2.5") --
    {
      id: 'subtle_dose_escalation',
      kind: 'malicious',
      description:
        'Deliberate small dose increases spread over fractions so that each fraction stays within tolerance.',
      base: 2.9,
      baseRationale: 'Statistical camouflage: each fraction looks normal; requires CUSUM detection.',
      variants: [
        {
          id: 'linear_ramp',
          value: 2.8,
          rationale: 'Dose grows a little each fraction; a trend test can find the ramp.',
        },
        {
          id: 'random_walk',
          value: 2.9,
          rationale: 'Random increments hide the trend; requires CUSUM detection.',
        },
        {
          id: 'fraction_selective',
          value: 3.0,
          rationale: 'Fraction-selective overdose: deliberate targeting of specific fractions.',
        },
        {
          id: 'field_distributed',
          value: 2.7,
          rationale: 'Increase split across fields; a per-patient dose sum shows the total.',
        },
      ],
      qaChecks: [
        'Cumulative MU per patient against the plan',
        'CUSUM on per-fraction MU',
        'Mann-Kendall trend test on MU',
      ],
    },
    {
      id: 'targeted_patient_selection',
      kind: 'malicious',
      description:
        'Attacks directed at chosen patients (by demographics, site or schedule) so population statistics stay normal.',
      base: 3.0,
      baseRationale: 'Maximum severity: vulnerable populations, difficult population-level detection.',
      variants: [
        {
          id: 'demographic_targeting',
          value: 3.0,
          rationale: 'Ethical violation plus detection evasion: vulnerable groups chosen deliberately.',
        },
        {
          id: 'random_sampling',
          value: 2.9,
          rationale: 'Random victims dilute the signal across the population.',
        },
        { id: 'temporal_spacing', value: 2.9, rationale: 'Victims spaced in time so that no cluster forms.' },
        {
          id: 'site_specific',
          value: 2.8,
          rationale: 'Confined to one treatment site; per-site statistics can reveal it.',
        },
      ],
      qaChecks: [
        'Anomaly rates compared across demographic groups and sites',
        'Temporal clustering of anomalies per patient group',
      ],
    },
    {
      id: 'coordinated_multifield_attack',
      kind: 'malicious',
      description:
        'Errors coordinated across the fields of a plan so each field passes QA while the composite dose is wrong.',
      base: 2.9,
      baseRationale: 'Evades field-level QA, needs 3D reconstruction.',
      variants: [
        {
          id: 'compensatory_errors',
          value: 3.0,
          rationale:
            'Sophisticated multi-field coordination: errors cancel per field yet add up in the target.',
        },
        {
          id: 'geometric_shift',
          value: 2.9,
          rationale: 'All fields shifted together: a coordinated geometric miss.',
        },
        {
          id: 'aperture_erosion',
          value: 2.8,
          rationale: 'Apertures shrunk slightly in every field: under-dosed margins.',
        },
        {
          id: 'hotspot_creation',
          value: 2.9,
          rationale: 'Field overlaps arranged to create a hot spot in healthy tissue.',
        },
      ],
      qaChecks: ['Composite (all-field) gamma analysis', 'Aperture centroid consistency across fields'],
    },
    {
      id: 'time_delayed_corruption',
      kind: 'malicious',
      description:
        'Corruption planted in advance that activates later: at a date, on a condition, or from a database trigger.',
      base: 2.8,
      baseRationale: 'Pre-treatment verification can catch it once it has activated.',
      variants: [
        {
          id: 'scheduled_activation',
          value: 2.9,
          rationale: 'Activates at a chosen date, after the plan was verified.',
        },
        {
          id: 'conditional_execution',
          value: 2.8,
          rationale: 'Activates only when a condition holds, so tests rarely trigger it.',
        },
        {
          id: 'database_trigger',
          value: 2.7,
          rationale: 'A trigger is an artefact that a schema audit can find.',
        },
        {
          id: 'gradual_onset',
          value: 2.8,
          rationale: 'Starts small after activation and blends into drift.',
        },
      ],
      qaChecks: [
        'SHA-256 checksums of verified records compared before each fraction',
        'Audit of database triggers and jobs',
      ],
    },
    {
      id: 'statistical_camouflage',
      kind: 'malicious',
      description:
        "Changes shaped to keep the data's statistics normal: biased within tolerance, noise-masked, correlation-preserving.",
      base: 2.9,
      baseRationale: 'Designed to evade statistical detection.',
      variants: [
        {
          id: 'within_tolerance_bias',
          value: 2.9,
          rationale:
            'Systematic bias kept inside every tolerance; only a bias test over many fractions shows it.',
        },
        {
          id: 'noise_injection',
          value: 2.7,
          rationale: 'Added noise changes the variance, which distribution tests can detect.',
        },
        {
          id: 'correlation_masking',
          value: 2.8,
          rationale: 'Correlated parameters changed together so cross-checks agree.',
        },
        {
          id: 'outlier_avoidance',
          value: 2.9,
          rationale: 'No single value is an outlier: defeats threshold-based detection.',
        },
      ],
      qaChecks: [
        'One-sample t-test for systematic bias',
        "Benford's law test on leading digits",
        'Runs test for randomness',
      ],
    },
    {
      id: 'audit_trail_manipulation',
      kind: 'malicious',
      description: 'Audit records altered, forged or removed to hide other changes.',
      base: 2.7,
      baseRationale: 'Enables other attacks, but external logs can catch it.',
      variants: [
        {
          id: 'timestamp_forgery',
          value: 2.8,
          rationale: 'Forged times break the link between changes and their authors.',
        },
        {
          id: 'user_impersonation',
          value: 2.9,
          rationale: 'Changes attributed to another user: attribution fails, trust is violated.',
        },
        { id: 'log_deletion', value: 3.0, rationale: 'Removes all evidence.' },
        {
          id: 'audit_disable',
          value: 2.7,
          rationale: 'A disabled audit is itself visible as a configuration change and a gap.',
        },
      ],
      qaChecks: [
        'Audit log compared with external (server, network) logs',
        'Impossible user activity (same user, two places)',
      ],
    },
    {
      id: 'field_aperture_manipulation',
      kind: 'malicious',
      description:
        'MLC aperture of a field changed: shifted, eroded, opened over organs at risk, or blurred.',
      base: 2.9,
      baseRationale: 'Direct geometric miss, high patient harm.',
      variants: [
        { id: 'systematic_shift', value: 3.0, rationale: 'Systematic MLC shift: guaranteed geometric miss.' },
        {
          id: 'margin_erosion',
          value: 2.9,
          rationale: 'Target margins eroded: under-dose at the edge of the tumour.',
        },
        { id: 'oar_expansion', value: 2.8, rationale: 'Aperture opened over an organ at risk: toxicity.' },
        {
          id: 'asymmetric_blur',
          value: 2.7,
          rationale: 'One edge blurred: smaller dosimetric effect, visible on portal images.',
        },
      ],
      qaChecks: ['Aperture centroid and area against the plan', 'Portal image gamma analysis (3 %/3 mm)'],
    },
    {
      id: 'gradual_parameter_drift',
      kind: 'malicious',
      description:
        'Treatment parameters drifted a little every fraction so that no single fraction is out of tolerance.',
      base: 2.8,
      baseRationale: 'Longitudinal analysis can detect trends.',
      variants: [
        {
          id: 'gantry_angle_drift',
          value: 2.7,
          rationale: 'Gantry angle drift; angle checks and portal imaging catch it.',
        },
        {
          id: 'isocenter_shift',
          value: 2.9,
          rationale: 'Isocentre moved step by step: progressive geometric miss.',
        },
        { id: 'mu_creep', value: 2.8, rationale: 'MU raised step by step: cumulative overdose.' },
        {
          id: 'mlc_drift',
          value: 2.7,
          rationale: 'Leaf positions drift; MLC QA and portal images can show it.',
        },
      ],
      qaChecks: [
        "Mann-Kendall trend test with Sen's slope per parameter",
        'CUSUM per parameter across fractions',
      ],
    },
    {
      id: 'selective_fraction_sabotage',
      kind: 'malicious',
      description:
        'Only some fractions are sabotaged: periodically, at random, on chosen dates, or with chosen staff.',
      base: 2.8,
      baseRationale: 'Per-fraction QA can identify anomalies.',
      variants: [
        {
          id: 'periodic_attacks',
          value: 2.7,
          rationale: 'A regular pattern that autocorrelation and runs tests can find.',
        },
        { id: 'random_selection', value: 2.9, rationale: 'Random fractions leave no pattern to find.' },
        {
          id: 'calendar_based',
          value: 2.8,
          rationale: 'Chosen dates (weekends, holidays) with less oversight.',
        },
        {
          id: 'staff_correlated',
          value: 2.8,
          rationale: 'Coincides with particular staff; correlation with rosters can reveal it.',
        },
      ],
      qaChecks: ['Per-fraction QA against the plan', 'Temporal autocorrelation of per-fraction deviations'],
    },
    {
      id: 'collimator_jaw_manipulation',
      kind: 'malicious',
      description:
        'Collimator jaw positions changed: asymmetric, reduced, expanded, or with a shifted gradient.',
      base: 2.6,
      baseRationale: 'Affects field geometry, but portal imaging can detect it.',
      variants: [
        { id: 'jaw_asymmetry', value: 2.7, rationale: 'Field off-centre: part of the target under-dosed.' },
        { id: 'field_size_reduction', value: 2.8, rationale: 'Target partly outside the field: under-dose.' },
        {
          id: 'field_size_expansion',
          value: 2.5,
          rationale: 'Extra healthy tissue irradiated; the target is still covered.',
        },
        {
          id: 'gradient_shift',
          value: 2.6,
          rationale: 'Penumbra moved: small dosimetric effect, visible on portal images.',
        },
      ],
      qaChecks: ['Jaw positions (Coll_X1/X2/Y1/Y2) against the plan', 'Portal image field-edge analysis'],
    },
  ],
  playbook: {
    bands: {
      normal: ['Standard workflow'],
      low: [
        'Log for trending analysis',
        'Fix during routine data quality review',
        'No immediate clinical intervention required',
      ],
      medium: [
        'Add to the QA queue; review within 24 hours',
        'Investigate root cause',
        'Implement corrective action to prevent recurrence',
        'Correct the data if required',
      ],
      high: [
        'Immediate review required (within 1–4 hours)',
        'Hold patient treatment if not yet delivered',
        'Verify treatment against independent records (DICOM plan, machine logs)',
        'Clinical physicist review mandatory',
        'Document investigation and resolution',
      ],
      critical: [
        'STOP: halt any pending treatments for this patient',
        'Page the on-call clinical physicist immediately',
        'Verify patient identity through independent means',
        'Cross-check with the original DICOM RT Plan, the treatment management system, machine interlock logs and portal images / CBCT',
        'Document the incident per institutional policy',
      ],
    },
    malicious: {
      lower: ['Physicist review', 'Enhanced QA next fraction', 'Forensic investigation initiated'],
      middle: [
        'Physicist review',
        'Enhanced QA next fraction',
        'Forensic investigation initiated',
        'Incident commander assigned',
        'Security team notified',
      ],
      upper: [
        'Treatment halt for all affected patients',
        'Emergency physicist review',
        'Incident command activated',
        'Law enforcement notified',
        'Regulatory reporting (within hours; within 24 hours for severity 3.0)',
        'Forensic data preservation',
      ],
    },
  },
} as const satisfies ReadonlyCatalogueInput;

export const MOSAIQ_CATALOGUE: Catalogue = defineCatalogue(MOSAIQ_CATALOGUE_INPUT);

type MosaiqModeInput = (typeof MOSAIQ_CATALOGUE_INPUT)['modes'][number];

/**
 * A Mosaiq failure-mode id. The catalogue above is the one place the ids are written: this type
 * (and `MosaiqVariantId`) is derived from it, so a misspelt id elsewhere does not compile.
 */
export type MosaiqFailureModeId = MosaiqModeInput['id'];

/** The variant ids of a Mosaiq failure mode (of every mode when `M` is omitted). */
export type MosaiqVariantId<M extends MosaiqFailureModeId = MosaiqFailureModeId> = Extract<
  MosaiqModeInput,
  { id: M }
>['variants'][number]['id'];

/** Every Mosaiq failure-mode id, in catalogue order (10 accidental, then 10 malicious). */
export const MOSAIQ_FAILURE_MODE_IDS: readonly MosaiqFailureModeId[] = Object.freeze(
  MOSAIQ_CATALOGUE.modes.map((m) => m.id as MosaiqFailureModeId),
);
