#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so the command is always the code in the tree:
// no stale build can answer for it. `npm run build` produces a bundled copy for deployments.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
