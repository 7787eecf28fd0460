#!/usr/bin/env node
import { main } from './main';

main(process.argv.slice(2)).then((code) => {
  if (code !== null) process.exitCode = code;
});
