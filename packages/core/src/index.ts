export * from './artifact';
export * from './calibration';

export * from './csv';
export * from './detector';
export * from './errors';
export * from './matrix';
export * from './metrics/index';
export * from './rng';
export * from './scalers';
export * from './splits';
export * from './stats';
export * from './thresholds';
export * from './validation';
