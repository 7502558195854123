import { execFile, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
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
});
