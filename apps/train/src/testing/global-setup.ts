// Provisions Chromium for the report test before any test file runs.
export { default } from '@anomalia/test-browser/global-setup';
