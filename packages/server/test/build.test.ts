import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const serverDir = fileURLToPath(new URL('..', import.meta.url));
const bundle = fileURLToPath(new URL('../dist/flex-streams.cjs', import.meta.url));

describe('npm run build', () => {
  it('bundles a CLI that runs on plain Node, without tsx or the workspace sources', async () => {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: serverDir });
    expect((await stat(bundle)).size).toBeGreaterThan(100_000);

    // The bundled emulator command starts and prints its JSON line, like the tsx-run one.
    const child = spawn(process.execPath, [bundle, 'emulator', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      });
      child.on('exit', (code) => {
        reject(new Error(`bundle exited with ${String(code)}`));
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(JSON.parse(line)).toMatchObject({ event: 'listening' });
    expect(await exited).toBe(0);
  }, 60_000);

  it('makes dist/ a complete deployment: copied alone elsewhere, start serves the dashboard', async () => {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: serverDir });
    const dir = await mkdtemp(join(tmpdir(), 'fs-bundle-'));
    try {
      await cp(dirname(bundle), join(dir, 'app'), { recursive: true });
      const child = spawn(
        process.execPath,
        [
          join(dir, 'app', 'flex-streams.cjs'),
          'start',
          ...['--controller-port', '0', '--receiver-port', '0', '--emulator-port', '0'],
          ...['--recordings', join(dir, 'rec'), '--data-dir', join(dir, 'data')],
        ],
        // Away from the checkout: nothing but the copied dist/ to find the page in.
        {
          cwd: dir,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, TWILIO_ACCOUNT_SID: '' },
        },
      );
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      try {
        const line = await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
          });
          child.on('exit', (code) => {
            reject(new Error(`bundle exited with ${String(code)}`));
          });
        });
        const { controller } = JSON.parse(line) as { controller: { url: string } };
        const page = await fetch(`${controller.url}/dashboard`);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('<script src=');
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
