import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { ReceiverError } from './errors.js';
import type { RecordingStorage } from './storage.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Options of {@link startReceiver}; see the README's options table. */
export const receiverOptionsSchema = z
  .object({
    recordingsDir: z.string().min(1, 'recordingsDir is required: the folder recordings go to'),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(0),
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]*$/, 'path must start with / and hold no query')
      .default('/media'),
    authToken: z.string().min(1).optional(),
    publicUrl: z
      .url({ protocol: /^wss?$/, error: 'publicUrl must be a ws:// or wss:// URL' })
      .refine(
        (u) => !u.includes('?'),
        'publicUrl must not contain a query string (twilio-facts §1)',
      )
      .optional(),
    logger: z
      .custom<Logger>(
        (v) => isObject(v) && typeof v.child === 'function',
        'logger must be a pino logger',
      )
      .optional(),
    registry: z
      .custom<Registry>((v) => v instanceof Registry, 'registry must be a prom-client Registry')
      .optional(),
    now: z
      .custom<() => number>((v) => typeof v === 'function', 'now must be a function')
      .optional(),
    storage: z
      .custom<RecordingStorage>(
        (v) => isObject(v) && typeof v.createExclusive === 'function',
        'storage must implement RecordingStorage',
      )
      .optional(),
    flushIntervalMs: z.number().int().min(20).max(1000).default(500),
    // Rewriting the sidecar (temp file + write + rename) on every flush cost ~1.5× the CPU per
    // frame of this default at 200 paced streams (docs/benchmarks.md, receiver-sidecar); the
    // audio's crash budget does not depend on it, only how stale a repaired sidecar's counts are.
    sidecarIntervalMs: z.number().int().min(0).max(600_000).default(5_000),
    reorderWindowMs: z.number().int().min(0).max(980).default(200),
    maxTrackLagMs: z.number().int().min(0).max(980).optional(),
    maxMessageBytes: z
      .number()
      .int()
      .min(1024)
      .default(64 * 1024),
    maxBufferedBytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024),
    maxForwardJumpMs: z.number().int().min(1000).default(3_600_000),
    nameParameter: z.string().min(1).default('streamName'),
    fileNameTemplate: z
      .string()
      .regex(/\{[^{}]+\}/, 'fileNameTemplate needs at least one {placeholder}')
      .optional(),
    repairOnStart: z.boolean().default(true),
    startTimeoutMs: z.number().int().min(100).default(10_000),
    closeAfterStopMs: z.number().int().min(0).default(5_000),
    metricsPath: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]*$/, 'metricsPath must start with / and hold no query')
      .optional(),
  })
  .strict()
  .refine((o) => o.flushIntervalMs + Math.max(o.reorderWindowMs, o.maxTrackLagMs ?? 0) <= 1000, {
    message:
      'flushIntervalMs + reorderWindowMs (or maxTrackLagMs) must be at most 1000 so a crash loses at most one second',
    path: ['flushIntervalMs'],
  })
  .refine((o) => o.metricsPath !== o.path, {
    message: 'metricsPath must differ from path',
    path: ['metricsPath'],
  })
  .refine((o) => o.authToken !== undefined || o.publicUrl === undefined, {
    message: 'publicUrl is only used to validate signatures: give authToken too',
    path: ['publicUrl'],
  })
  .transform((o) => ({
    ...o,
    // By default a trailing track may lag up to 400 ms, less when the flush interval leaves less
    // of the one-second crash budget (keeping 100 ms for the write itself), never less than the
    // reorder window.
    maxTrackLagMs:
      o.maxTrackLagMs ?? Math.max(o.reorderWindowMs, Math.min(400, 900 - o.flushIntervalMs)),
  }));

/** What callers pass. */
export type ReceiverOptions = z.input<typeof receiverOptionsSchema>;
/** Options after defaults. */
export type ResolvedReceiverOptions = Readonly<z.output<typeof receiverOptionsSchema>>;

/** Validates options, reporting every problem in one `FS_RCV_INVALID_OPTIONS` error. */
export function resolveReceiverOptions(options: unknown): ResolvedReceiverOptions {
  const result = receiverOptionsSchema.safeParse(options);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`,
    );
    throw new ReceiverError(
      'FS_RCV_INVALID_OPTIONS',
      `invalid receiver options: ${problems.join('; ')}`,
    );
  }
  return Object.freeze(result.data);
}
