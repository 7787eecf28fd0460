export type { Baseline, BaselineOptions } from './baseline';
export { baselineOptionsSchema, estimateBaseline } from './baseline';
export type {
  BenfordOptions,
  BenfordResult,
  NigriniConformity,
} from './benford';
export {
  BENFORD_FIRST_DIGIT,
  benfordFirstDigit,
  benfordOptionsSchema,
  firstSignificantDigit,
  NIGRINI_FIRST_DIGIT_MAD,
  nigriniConformity,
} from './benford';
export type { CusumMonitor, CusumOptions, CusumResult, CusumSide, CusumState } from './cusum';
export { createCusum, cusum, cusumOptionsSchema } from './cusum';
export type { Alternative } from './distributions';
export {
  chiSquareSf,
  normalPValue,
  standardNormalCdf,
  standardNormalQuantile,
  standardNormalSf,
  studentTCdf,
  studentTPValue,
  studentTQuantile,
} from './distributions';
export type { EwmaMonitor, EwmaOptions, EwmaResult, EwmaState } from './ewma';
export { createEwma, ewma, ewmaOptionsSchema } from './ewma';
export type { MannKendallOptions, MannKendallResult } from './mann-kendall';
export { averageRanks, mannKendall, mannKendallOptionsSchema, mannKendallS } from './mann-kendall';
export type {
  MultipleTestingMethod,
  MultipleTestingOptions,
  MultipleTestingResult,
  OutcomeAdjustment,
} from './multiple-testing';
export {
  adjustPValues,
  adjustTestOutcomes,
  benjaminiHochberg,
  bonferroni,
  holm,
  multipleTestingOptionsSchema,
} from './multiple-testing';
export type {
  BinomialTestResult,
  PoissonRateTestResult,
  RateTestOptions,
} from './rate-tests';
export { binomialTest, poissonRateTest, rateTestOptionsSchema } from './rate-tests';
export type { RunsTestOptions, RunsTestResult } from './runs-test';
export { runsDistribution, runsTest, runsTestOptionsSchema } from './runs-test';
export type { SenSlopeOptions, SenSlopeResult } from './sen-slope';
export { senSlope, senSlopeOptionsSchema } from './sen-slope';
export type { InsufficientData, TestOutcome } from './series';
export type {
  BeforeAfterOptions,
  TTestOptions,
  TTestResult,
  WelchTTestResult,
} from './t-tests';
export {
  beforeAfterOptionsSchema,
  beforeAfterTTest,
  oneSampleTTest,
  tTestOptionsSchema,
  welchTTest,
} from './t-tests';
