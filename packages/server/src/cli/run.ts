/**
 * Entry point of the bundled CLI that `npm run build` writes to `dist/flex-streams.cjs`, for
 * deployments that run plain Node without tsx: `node dist/flex-streams.cjs start`.
 */
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
