/**
 * @flex-streams/dashboard: the operator dashboard of the controller service, a self-contained page
 * (HTML, one script, one style sheet, no CDN, no build step) served under `/dashboard`. The page
 * holds no data: its script polls the operator endpoints `GET /v1/calls` and
 * `GET /v1/calls/:callSid`, which the service guards with `FLEX_STREAMS_ADMIN_TOKEN`. See README.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** Where the page is served. */
export const DASHBOARD_PATH = '/dashboard';

/**
 * Headers of every dashboard answer. The policy allows only same-origin script, style and fetch
 * (no inline script or style, so injected markup could not run even if it got in); `nosniff`
 * keeps the browser from reading a JSON error as script; the page is never cached, so an upgrade
 * of the service is what the operator sees next.
 */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': "default-src 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
});

/** One served file: its path under the service, media type and content. */
export interface DashboardAsset {
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
}

/** Options of {@link registerDashboard}. */
export interface DashboardOptions {
  /** The folder holding `index.html`, `app.js` and `style.css`; default this package's `public/`. */
  readonly assetsDir?: string;
}

const FILES = [
  { path: DASHBOARD_PATH, file: 'index.html', contentType: 'text/html; charset=utf-8' },
  {
    path: `${DASHBOARD_PATH}/app.js`,
    file: 'app.js',
    contentType: 'text/javascript; charset=utf-8',
  },
  {
    path: `${DASHBOARD_PATH}/style.css`,
    file: 'style.css',
    contentType: 'text/css; charset=utf-8',
  },
] as const;

/**
 * This package's `public/` folder: the copy beside the CLI bundle when there is one, else found as
 * Node resolves the package from the program's main script (then from the working directory). Not `import.meta.url`: the CLI's CommonJS bundle
 * (`npm run build` in packages/server) has no `import.meta`, and this way the bundle run from a
 * checkout serves the page too.
 */
function defaultAssetsDir(): string {
  // The CLI bundle carries a copy of public/ beside it (`dist/dashboard/`, made by its build), so
  // `dist/` alone is a complete deployment.
  const main = process.argv[1];
  if (main !== undefined && main !== '') {
    const beside = join(dirname(main), 'dashboard');
    if (existsSync(join(beside, 'index.html'))) return beside;
  }
  const origins = [main, join(process.cwd(), 'index.js')];
  let lastError: unknown = null;
  for (const origin of origins) {
    if (origin === undefined || origin === '') continue;
    try {
      const entry = createRequire(origin).resolve('@flex-streams/dashboard');
      return join(dirname(entry), '..', 'public');
    } catch (error) {
      lastError = error;
    }
  }
  if (lastError instanceof Error) throw lastError;
  throw new Error('no main script to resolve @flex-streams/dashboard from');
}

/**
 * Reads the page's three files. Throws an `Error` naming the missing file: a service that cannot
 * serve its dashboard says so at start-up, not on the operator's first visit.
 */
export function loadDashboardAssets(options: DashboardOptions = {}): readonly DashboardAsset[] {
  let dir: string;
  try {
    dir = options.assetsDir ?? defaultAssetsDir();
  } catch (cause) {
    throw new Error(
      'The dashboard package (its public/ folder) cannot be found; set FLEX_STREAMS_DASHBOARD=off to run without the dashboard',
      { cause },
    );
  }
  return FILES.map(({ path, file, contentType }) => {
    let body: string;
    try {
      body = readFileSync(join(dir, file), 'utf8');
    } catch (cause) {
      throw new Error(
        `The dashboard file ${join(dir, file)} cannot be read; set FLEX_STREAMS_DASHBOARD=off to run without the dashboard`,
        { cause },
      );
    }
    return { path, contentType, body };
  });
}

/**
 * Registers `GET /dashboard`, `GET /dashboard/app.js` and `GET /dashboard/style.css` on `app`,
 * each with {@link DASHBOARD_HEADERS}, and `GET /dashboard/` redirecting to the page. The files are
 * read once, here.
 */
export function registerDashboard(app: FastifyInstance, options: DashboardOptions = {}): void {
  for (const asset of loadDashboardAssets(options)) {
    app.get(asset.path, (_request, reply) =>
      reply.headers(DASHBOARD_HEADERS).type(asset.contentType).send(asset.body),
    );
  }
  // The page's relative links resolve against `/dashboard`, not `/dashboard/`: send a typed
  // trailing slash there (relative, so a proxy's path prefix is kept).
  app.get(`${DASHBOARD_PATH}/`, (_request, reply) =>
    reply.headers(DASHBOARD_HEADERS).redirect('../dashboard', 301),
  );
}
