import type { FastifyInstance } from 'fastify';
import { TwilioApiError, twilioErrors } from '../errors.js';
import type { InboundCallInput } from '../emulator.js';
import type { EmulatorEvent } from '../events.js';
import { newSecret, newSid } from '../model/ids.js';
import type { CallModel } from '../model/model.js';
import type { StreamTrack } from '../media/ports.js';
import { isHttpUrl } from '../taskrouter/event-callback.js';
import { settingsJson, type EmulatorSettings } from './settings.js';
import type { EmulatorState } from './state.js';

/** The API keys the Twilio-shaped API accepts besides the auth token (`SK…` → secret). */
export type ApiKeyStore = Map<string, { friendlyName: string; secret: string }>;

/** What the control API needs, and what later steps get to extend it with. */
export interface ControlContext {
  readonly model: CallModel;
  readonly apiKeys: ApiKeyStore;
  placeInboundCall(input: InboundCallInput): { callSid: string };
  state(): EmulatorState;
  events(sinceSeq?: number): EmulatorEvent[];
  settings(): EmulatorSettings;
  /** Validates and applies a settings update; throws a 400 `ControlError` and changes nothing. */
  updateSettings(input: unknown): EmulatorSettings;
}

function controlError(message: string): TwilioApiError {
  return new TwilioApiError(20001, 400, message);
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/**
 * The test-only control API under the reserved `/_emulator/` prefix (style: never knobs on the
 * Twilio-shaped API). JSON in, JSON out; no auth (the emulator binds to 127.0.0.1). See README.
 */
export function registerControlRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.get('/_emulator/state', { config: { operation: 'ControlState' } }, () => ctx.state());

  app.get('/_emulator/events', { config: { operation: 'ControlEvents' } }, (request) => {
    const since = record(request.query).since;
    const seq = since === undefined ? 0 : Number(since);
    if (!Number.isInteger(seq) || seq < 0)
      throw controlError('since must be a non-negative integer');
    return { events: ctx.events(seq) };
  });

  app.post(
    '/_emulator/calls',
    { config: { operation: 'ControlPlaceInboundCall' } },
    (request, reply) => {
      const input = record(request.body);
      const { from, to, twiml, url, voiceHz, statusCallback, statusCallbackMethod } = input;
      if (typeof from !== 'string' || from === '') throw controlError('from (string) is required');
      if (typeof to !== 'string' || to === '') throw controlError('to (string) is required');
      if ((typeof twiml === 'string') === (typeof url === 'string')) {
        throw controlError('exactly one of twiml or url (string) is required');
      }
      if (
        voiceHz !== undefined &&
        (typeof voiceHz !== 'number' || !(voiceHz > 0 && voiceHz < 4000))
      ) {
        throw controlError('voiceHz must be a number between 0 and 4000');
      }
      if (
        statusCallback !== undefined &&
        (typeof statusCallback !== 'string' || !isHttpUrl(statusCallback))
      )
        throw controlError(
          `statusCallback must be an http(s) URL, got ${JSON.stringify(statusCallback)}`,
        );
      if (
        statusCallbackMethod !== undefined &&
        statusCallbackMethod !== 'GET' &&
        statusCallbackMethod !== 'POST'
      )
        throw controlError('statusCallbackMethod must be GET or POST');
      const placed = ctx.placeInboundCall({
        from,
        to,
        ...(typeof twiml === 'string' ? { twiml } : {}),
        ...(typeof url === 'string' ? { url } : {}),
        ...(typeof voiceHz === 'number' ? { voiceHz } : {}),
        ...(typeof statusCallback === 'string' ? { statusCallback } : {}),
        ...(statusCallbackMethod === undefined ? {} : { statusCallbackMethod }),
      });
      return reply.code(201).send(placed);
    },
  );

  app.get('/_emulator/settings', { config: { operation: 'ControlSettings' } }, () =>
    settingsJson(ctx.settings()),
  );

  app.post('/_emulator/settings', { config: { operation: 'ControlUpdateSettings' } }, (request) =>
    settingsJson(ctx.updateSettings(request.body ?? {})),
  );

  app.post<{ Params: { sid: string } }>(
    '/_emulator/calls/:sid/hangup',
    { config: { operation: 'ControlHangup' } },
    (request) => {
      const call = ctx.model.calls.get(request.params.sid);
      if (call === undefined) throw twilioErrors.notFound(request.url);
      ctx.model.deps.events.append('control', { action: 'hangup', callSid: call.sid });
      ctx.model.endCall(call, 'completed');
      return { callSid: call.sid, status: call.status };
    },
  );

  app.post(
    '/_emulator/api-keys',
    { config: { operation: 'ControlCreateApiKey' } },
    (request, reply) => {
      const friendlyName = record(request.body).friendlyName;
      const sid = newSid('SK');
      const secret = newSecret();
      ctx.apiKeys.set(sid, {
        friendlyName: typeof friendlyName === 'string' ? friendlyName : sid,
        secret,
      });
      ctx.model.deps.events.append('control', { action: 'create-api-key', sid });
      return reply.code(201).send({ sid, secret });
    },
  );

  app.post<{ Params: { sid: string } }>(
    '/_emulator/streams/:sid/gap',
    { config: { operation: 'ControlInjectGap' } },
    (request) => {
      const stream = ctx.model.streams.get(request.params.sid);
      if (stream === undefined) throw twilioErrors.notFound(request.url);
      const { track, durationMs } = record(request.body);
      if (track !== 'inbound' && track !== 'outbound')
        throw controlError('track must be inbound or outbound');
      if (typeof durationMs !== 'number' || !(durationMs > 0))
        throw controlError('durationMs must be a positive number');
      ctx.model.media.injectGap(stream.sid, track satisfies StreamTrack, durationMs);
      ctx.model.deps.events.append('control', {
        action: 'inject-gap',
        streamSid: stream.sid,
        track,
        durationMs,
      });
      return { streamSid: stream.sid, track, durationMs };
    },
  );
}
