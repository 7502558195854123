import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/flex-streams.mjs', import.meta.url));

/** Runs the real `flex-streams` executable, as `npx flex-streams` would, and collects its output. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe('flex-streams CLI', () => {
  it('lists its commands on --help and exits 0, writing nothing to stdout', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Usage: flex-streams <command>');
    // Each command is listed with its one-line summary.
    expect(result.stderr).toMatch(/^ {2}emulator +Run the local Twilio/m);
    expect(result.stderr).toMatch(/^ {2}receiver +Record every Twilio Media Stream/m);
    expect(result.stderr).toMatch(/^ {2}start +Run flex-streams \(controller \+ receiver/m);
  });

  it('rejects an unknown command with exit code 2 and names it', async () => {
    const result = await runCli(['no-such-command']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("unknown command 'no-such-command'");
  });
});
