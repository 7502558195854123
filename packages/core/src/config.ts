/**
 * The controller's configuration, validated once. The deployable's `config.ts` reads the
 * environment and passes plain values here; this module never reads `process.env` (style §7).
 */
import { createFsError } from './errors.js';
import type { Leg, StrategyName, StreamTrack } from './model.js';

/** Backoff for retryable Twilio errors: full jitter, `baseDelayMs · 2^(attempt-1)` capped. */
export interface RetryPolicy {
  /** Total attempts including the first, ≥ 1. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** The validated, frozen configuration the use cases receive. */
export interface ControllerConfig {
  readonly strategy: StrategyName;
  readonly leg: Leg;
  readonly track: StreamTrack;
  /** `wss://…` (or `ws://` on a loopback host, for the emulator), no query string (twilio-facts §1). */
  readonly streamUrl: string;
  /** Where Twilio posts stream-started/stopped/error; absent = no callbacks. */
  readonly statusCallbackUrl: string | null;
  /** Twilio's per-call limit of forked tracks (4; both_tracks counts 2). */
  readonly maxTracksPerCall: number;
  /** How many times a segment's stream is restarted after stream-error. */
  readonly maxStreamRestarts: number;
  readonly retry: Readonly<RetryPolicy>;
  /** twiml strategy: how the customer's endConferenceOnExit=false is verified, and hold restored. */
  readonly protect: Readonly<{ pollIntervalMs: number; maxPolls: number }>;
}

/** Input of {@link createControllerConfig}: only `streamUrl` is required. */
export interface ControllerConfigInput {
  strategy?: string;
  leg?: string;
  track?: string;
  streamUrl: string;
  statusCallbackUrl?: string | null;
  maxTracksPerCall?: number;
  maxStreamRestarts?: number;
  retry?: Partial<RetryPolicy>;
  protect?: Partial<{ pollIntervalMs: number; maxPolls: number }>;
}

/** Defaults for everything but the URLs. */
export const CONTROLLER_DEFAULTS = {
  strategy: 'rest',
  leg: 'customer',
  track: 'both_tracks',
  maxTracksPerCall: 4,
  maxStreamRestarts: 3,
  retry: { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 4000 },
  // The seed polls every 200 ms, up to 10 times (twilio-facts §4); kept, but bounded and configurable.
  protect: { pollIntervalMs: 200, maxPolls: 10 },
} as const;

const STRATEGIES: readonly string[] = ['rest', 'twiml'];
const LEGS: readonly string[] = ['customer', 'worker'];
const TRACKS: readonly string[] = ['inbound_track', 'outbound_track', 'both_tracks'];
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function checkUrl(
  label: string,
  value: string,
  schemes: readonly string[],
  problems: string[],
): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${label} '${value}' is not an absolute URL`);
    return;
  }
  const scheme = url.protocol.slice(0, -1);
  const loopbackPlain = (scheme === 'ws' || scheme === 'http') && LOOPBACK.has(url.hostname);
  if (!schemes.includes(scheme) && !loopbackPlain) {
    problems.push(
      `${label} must use ${schemes.join(' or ')} (plain ${scheme} only on a loopback host); got '${value}'`,
    );
  }
  if (url.search !== '') {
    // Twilio: the <Stream> URL must not contain a query string; use parameters (twilio-facts §1).
    problems.push(`${label} must not contain a query string; got '${value}'`);
  }
}

function checkInt(
  label: string,
  value: number,
  min: number,
  max: number,
  problems: string[],
): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${label} must be an integer from ${min} to ${max}; got ${value}`);
  }
}

/**
 * Validates `input`, applies defaults and returns a frozen {@link ControllerConfig}. Every problem
 * is reported at once in one `FS_ERR_INVALID_CONFIG` error. `twiml` with the `worker` leg is
 * rejected: a worker leg must never get new TwiML (it would pull the agent out of the conference
 * and force the task into wrapping; seed README, twilio-facts §4).
 */
export function createControllerConfig(input: ControllerConfigInput): ControllerConfig {
  const problems: string[] = [];
  const strategy = input.strategy ?? CONTROLLER_DEFAULTS.strategy;
  const leg = input.leg ?? CONTROLLER_DEFAULTS.leg;
  const track = input.track ?? CONTROLLER_DEFAULTS.track;
  if (!STRATEGIES.includes(strategy)) {
    problems.push(`strategy must be one of ${STRATEGIES.join(', ')}; got '${strategy}'`);
  }
  if (!LEGS.includes(leg)) problems.push(`leg must be one of ${LEGS.join(', ')}; got '${leg}'`);
  if (!TRACKS.includes(track)) {
    problems.push(`track must be one of ${TRACKS.join(', ')}; got '${track}'`);
  }
  if (strategy === 'twiml' && leg === 'worker') {
    problems.push(
      "strategy 'twiml' cannot be used with leg 'worker': redirecting an agent's call leg with " +
        "TwiML pulls the agent out of the conference and forces the task into wrapping. Use leg 'customer', or strategy 'rest' for the worker leg.",
    );
  }
  checkUrl('streamUrl', input.streamUrl, ['wss'], problems);
  const statusCallbackUrl = input.statusCallbackUrl ?? null;
  if (statusCallbackUrl !== null) {
    checkUrl('statusCallbackUrl', statusCallbackUrl, ['https'], problems);
  }
  const maxTracksPerCall = input.maxTracksPerCall ?? CONTROLLER_DEFAULTS.maxTracksPerCall;
  checkInt('maxTracksPerCall', maxTracksPerCall, 1, 4, problems);
  const maxStreamRestarts = input.maxStreamRestarts ?? CONTROLLER_DEFAULTS.maxStreamRestarts;
  checkInt('maxStreamRestarts', maxStreamRestarts, 0, 100, problems);
  const retry = { ...CONTROLLER_DEFAULTS.retry, ...input.retry };
  checkInt('retry.maxAttempts', retry.maxAttempts, 1, 20, problems);
  checkInt('retry.baseDelayMs', retry.baseDelayMs, 0, 60_000, problems);
  checkInt('retry.maxDelayMs', retry.maxDelayMs, retry.baseDelayMs, 300_000, problems);
  const protect = { ...CONTROLLER_DEFAULTS.protect, ...input.protect };
  checkInt('protect.pollIntervalMs', protect.pollIntervalMs, 0, 10_000, problems);
  checkInt('protect.maxPolls', protect.maxPolls, 1, 100, problems);
  if (problems.length > 0) {
    throw createFsError(
      'FS_ERR_INVALID_CONFIG',
      `invalid controller configuration:\n- ${problems.join('\n- ')}`,
    );
  }
  return Object.freeze({
    strategy: strategy as StrategyName,
    leg: leg as Leg,
    track: track as StreamTrack,
    streamUrl: input.streamUrl,
    statusCallbackUrl,
    maxTracksPerCall,
    maxStreamRestarts,
    retry: Object.freeze(retry),
    protect: Object.freeze(protect),
  });
}
