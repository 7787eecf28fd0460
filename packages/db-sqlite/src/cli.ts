#!/usr/bin/env node
import { runImportCli } from './import-cli';

runImportCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
