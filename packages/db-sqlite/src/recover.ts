#!/usr/bin/env node
import { runRecoverCli } from './recover-cli';

process.exitCode = runRecoverCli(process.argv.slice(2));
