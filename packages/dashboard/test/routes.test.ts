/**
 * The dashboard's routes through Fastify `inject`: on a bare app (types, security headers, a page
 * with no inline script or style), and inside the controller service's app built by
 * `createServiceApp` with the core's fake voice (the page is public while the data behind it is
 * guarded; `dashboard: false` serves nothing). `FLEX_STREAMS_DASHBOARD` is read by the config.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createControllerConfig,
  createMemorySegmentStore,
  createSegmentIdGenerator,
  createStreamController,
  createSystemClock,
} from '@flex-streams/core';
import { createFakeVoice } from '@flex-streams/core/testing';
import { createServiceApp, loadServiceConfig } from '@flex-streams/server';
import Fastify from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_HEADERS, loadDashboardAssets, registerDashboard } from '../src/index.js';

const ADMIN_TOKEN = 'operator-secret-0123456789';

async function serviceApp(dashboard: boolean) {
  const store = createMemorySegmentStore();
  const logger = pino({ level: 'silent' });
  const controller = createStreamController({
    voice: createFakeVoice(),
    store,
    clock: createSystemClock(),
    logger,
    newId: createSegmentIdGenerator(),
    config: createControllerConfig({
      streamUrl: 'wss://receiver.example.com/media',
      statusCallbackUrl: null,
    }),
  });
  const { app } = await createServiceApp({
    controller,
    store,
    taskRouter: null,
    logger,
    registry: new Registry(),
    workerLeg: null,
    signatures: null,
    tokens: null,
    drivers: { taskRouter: false, pluginApi: false },
    corsOrigins: [],
    streamStatusPath: '/v1/streams/status',
    adminToken: ADMIN_TOKEN,
    dashboard,
  });
  return app;
}

function expectDashboardHeaders(headers: Record<string, unknown>): void {
  expect(headers['content-security-policy']).toBe("default-src 'self'");
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['cache-control']).toBe('no-store');
}

describe('dashboard routes on a bare Fastify app', () => {
  const app = Fastify({ logger: false });
  registerDashboard(app);

  it('serves the page as HTML with the security headers, script and style only from files', async () => {
    const page = await app.inject({ method: 'GET', url: '/dashboard' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expectDashboardHeaders(page.headers);
    const html = page.body;
    expect(html).toMatch(/^<!doctype html>/i);
    // Under `default-src 'self'` inline script or style would not run: there must be none.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBe(1);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="dashboard\/app\.js"/);
      expect(body?.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).toContain('href="dashboard/style.css"');
    // Nothing from another origin (no CDN).
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  it('serves app.js and style.css with their types and the same headers', async () => {
    const script = await app.inject({ method: 'GET', url: '/dashboard/app.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expectDashboardHeaders(script.headers);
    expect(script.body).toContain("const CALLS_URL = 'v1/calls'");
    // Data goes on the page as text, never as markup.
    expect(script.body).not.toMatch(/\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write/);

    const style = await app.inject({ method: 'GET', url: '/dashboard/style.css' });
    expect(style.statusCode).toBe(200);
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
    expectDashboardHeaders(style.headers);
    expect(style.body).toContain('.call');
    expect(DASHBOARD_HEADERS['Content-Security-Policy']).toBe("default-src 'self'");
  });

  it('redirects /dashboard/ to the page, relatively (a proxy prefix is kept)', async () => {
    const answer = await app.inject({ method: 'GET', url: '/dashboard/' });
    expect(answer.statusCode).toBe(301);
    expect(answer.headers.location).toBe('../dashboard');
    expect(new URL('../dashboard', 'https://ops.example.com/fs/dashboard/').pathname).toBe(
      '/fs/dashboard',
    );
  });

  it('answers 404 for any other file under /dashboard', async () => {
    const answer = await app.inject({ method: 'GET', url: '/dashboard/../package.json' });
    expect(answer.statusCode).toBe(404);
    const other = await app.inject({ method: 'GET', url: '/dashboard/index.ts' });
    expect(other.statusCode).toBe(404);
  });

  it('serves the files of another assets folder, and names a missing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fs-dashboard-'));
    try {
      await writeFile(join(dir, 'index.html'), '<!doctype html><p>other</p>');
      await writeFile(join(dir, 'app.js'), '// other');
      expect(() => loadDashboardAssets({ assetsDir: dir })).toThrow(
        `The dashboard file ${join(dir, 'style.css')} cannot be read`,
      );
      await writeFile(join(dir, 'style.css'), 'p {}');
      const other = Fastify({ logger: false });
      registerDashboard(other, { assetsDir: dir });
      const page = await other.inject({ method: 'GET', url: '/dashboard' });
      expect(page.body).toBe('<!doctype html><p>other</p>');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('dashboard routes in the controller service app', () => {
  it('serves the page without the admin token while the calls it reads need it', async () => {
    const app = await serviceApp(true);
    try {
      const page = await app.inject({ method: 'GET', url: '/dashboard' });
      expect(page.statusCode).toBe(200);
      expectDashboardHeaders(page.headers);
      const calls = await app.inject({ method: 'GET', url: '/v1/calls' });
      expect(calls.statusCode).toBe(401);
      expect(calls.json()).toMatchObject({ error: { code: 'FS_ERR_ADMIN_TOKEN' } });
      const allowed = await app.inject({
        method: 'GET',
        url: '/v1/calls',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(allowed.json()).toEqual({ live: 0, calls: [] });
    } finally {
      await app.close();
    }
  });

  it('serves nothing under /dashboard when switched off', async () => {
    const app = await serviceApp(false);
    try {
      for (const url of ['/dashboard', '/dashboard/app.js', '/dashboard/style.css']) {
        const answer = await app.inject({ method: 'GET', url });
        expect(answer.statusCode, url).toBe(404);
        expect(answer.json(), url).toMatchObject({ error: { code: 'FS_ERR_ROUTE_NOT_FOUND' } });
      }
    } finally {
      await app.close();
    }
  });
});

describe('FLEX_STREAMS_DASHBOARD', () => {
  const minimal = {
    TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
    TWILIO_AUTH_TOKEN: 'token',
    FLEX_STREAMS_STREAM_URL: 'wss://receiver.example.com/media',
    FLEX_STREAMS_PUBLIC_URL: 'https://controller.example.com',
  };

  it('is on by default and takes on/off', () => {
    expect(loadServiceConfig(minimal).dashboard).toBe(true);
    expect(loadServiceConfig({ ...minimal, FLEX_STREAMS_DASHBOARD: 'off' }).dashboard).toBe(false);
    expect(loadServiceConfig({ ...minimal, FLEX_STREAMS_DASHBOARD: 'on' }).dashboard).toBe(true);
  });

  it('refuses anything else, naming the variable', () => {
    expect(() => loadServiceConfig({ ...minimal, FLEX_STREAMS_DASHBOARD: 'maybe' })).toThrow(
      'FLEX_STREAMS_DASHBOARD must be on or off',
    );
  });
});
