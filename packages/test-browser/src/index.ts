export {
  BrowserUnavailableError,
  CHROMIUM_ARGS,
  CHROMIUM_CANDIDATES,
  ensureChromium,
  findChromium,
  type ProvisionOptions,
  whyNotInstallable,
} from './chromium';
export { launchChromium } from './launch';
