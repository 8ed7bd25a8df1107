#!/usr/bin/env node
// Thin shim: the CLI lives in the compiled dist/ (built by `npm ci` through `prepare`).
import { main } from '../dist/cli/main.js';

main(process.argv).then((code) => {
  process.exitCode = code;
});
