/**
 * `flex-streams demo` through the real executable, as `npx flex-streams demo` runs it: the list,
 * one full scenario with its JSON document (the shape issue 6 documents), and usage errors.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/flex-streams.mjs', import.meta.url));

/** Runs the real `flex-streams` executable and collects its output. */
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

interface DemoJson {
  scenario: string;
  strategy: string;
  leg: string;
  ok: boolean;
  segments: {
    id: string;
    workerSid: string;
    startedAt: string | null;
    endedAt: string | null;
    recordings: string[];
  }[];
  recordings: { path: string; durationMs: number; channels: number }[];
  twilioRequests: { total: number; byOperation: Record<string, number> };
  customerDisruptions: number;
  checks: { name: string; ok: boolean; detail: string }[];
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fs-demo-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('flex-streams demo', () => {
  it('lists every scenario on stdout with --list and exits 0', async () => {
    const result = await runCli(['demo', '--list']);
    expect(result.code).toBe(0);
    const names = result.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/)[0]);
    expect(names).toEqual([
      'warm-transfer',
      'cold-transfer',
      'multi-hop',
      'customer-hangup-during-transfer',
      'first-agent-leaves-before-accept',
      'transfer-to-queue',
      'pause-resume',
      'hold-during-transfer',
      'restart-mid-call',
    ]);
  });

  it('runs warm-transfer with --json: one JSON document on stdout, exit 0, recordings on disk', async () => {
    const recordings = join(dir, 'recordings');
    const result = await runCli(['demo', 'warm-transfer', '--json', '--recordings', recordings]);
    expect(result.code, result.stderr).toBe(0);
    // Exactly one JSON document, nothing else on stdout.
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0] ?? '') as DemoJson;
    expect(doc).toMatchObject({
      scenario: 'warm-transfer',
      strategy: 'rest',
      leg: 'customer',
      ok: true,
    });
    expect(doc.segments).toHaveLength(2);
    for (const segment of doc.segments) {
      expect(segment.id).toMatch(/\S/);
      expect(segment.workerSid).toMatch(/^WK[0-9a-f]{32}$/);
      expect(Date.parse(segment.startedAt ?? '')).toBeLessThan(Date.parse(segment.endedAt ?? ''));
      expect(segment.recordings).toHaveLength(1);
    }
    expect(doc.recordings).toHaveLength(2);
    for (const recording of doc.recordings) {
      expect(recording.path.startsWith(recordings)).toBe(true);
      expect(recording.channels).toBe(2);
      expect(recording.durationMs).toBeGreaterThan(500);
      expect((await stat(recording.path)).size).toBeGreaterThan(1000);
    }
    expect(doc.twilioRequests.byOperation.CreateStream).toBe(2);
    expect(doc.customerDisruptions).toBe(0);
    expect(doc.checks.length).toBeGreaterThan(5);
    expect(doc.checks.every((c) => c.ok)).toBe(true);
    // The timeline and the summary went to stderr, for a person.
    expect(result.stderr).toContain('joined the conference');
    expect(result.stderr).toMatch(/stream fs-WR[0-9a-f]{32}-0 started/);
    expect(result.stderr).toContain('All checks passed.');
  }, 60_000);

  it('refuses an unknown scenario, twiml with the worker leg, and a bad flag with exit code 2', async () => {
    const unknown = await runCli(['demo', 'no-such-scenario']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain("unknown scenario 'no-such-scenario'");
    const combo = await runCli(['demo', 'warm-transfer', '--strategy', 'twiml', '--leg', 'worker']);
    expect(combo.code).toBe(2);
    expect(combo.stderr).toContain('twiml strategy only streams the customer leg');
    const flag = await runCli(['demo', 'warm-transfer', '--strategy', 'loud']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--strategy must be one of rest, twiml, not 'loud'");
    const none = await runCli(['demo']);
    expect(none.code).toBe(2);
  });

  it('reports an unusable recordings folder in one line with exit code 1', async () => {
    const file = join(dir, 'not-a-folder');
    await writeFile(file, 'x');
    const result = await runCli(['demo', 'warm-transfer', '--recordings', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('FS_RCV_RECORDINGS_DIR_UNUSABLE');
  });
});
