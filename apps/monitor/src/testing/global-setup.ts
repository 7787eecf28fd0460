// Provisions Chromium for the dashboard's browser tests before any test file runs.
export { default } from '@anomalia/test-browser/global-setup';
