export * from './definitions';
export * from './extended';
export { createQa74Buffer, type ExtractOptions, extractQa74, extractQa74Into, QA74_COLS } from './extract74';
export * from './feature-matrix';
export * from './feature-sets';
export { featureTables } from './feature-tables';
export { FEATURE_TABLES, unobservedFeatures } from './source-tables';
export * from './windows';
