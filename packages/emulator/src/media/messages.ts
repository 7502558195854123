import type { MediaStreamSpec, StreamTrack } from './ports.js';

/**
 * The JSON text of every message the media engine sends, exactly as Twilio shapes them
 * (twilio-facts §1). Numbers that Twilio sends as strings (`sequenceNumber`, `chunk`,
 * `timestamp`) are strings here too.
 */

/** `connected`: the first message; no `streamSid`, no `sequenceNumber`. */
export const CONNECTED_MESSAGE = '{"event":"connected","protocol":"Call","version":"1.0.0"}';

/** `start`: always sequence number 1, right after `connected`. */
export function startMessage(spec: MediaStreamSpec): string {
  return JSON.stringify({
    event: 'start',
    sequenceNumber: '1',
    streamSid: spec.streamSid,
    start: {
      accountSid: spec.accountSid,
      streamSid: spec.streamSid,
      callSid: spec.callSid,
      tracks: spec.tracks,
      customParameters: spec.customParameters,
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
  });
}

/**
 * Builds `media` messages for one stream. The constant parts are serialised once; each message is
 * then a few string concatenations (the media path runs 50 times a second per track per stream).
 */
export function createMediaMessageBuilder(
  streamSid: string,
): (
  sequenceNumber: number,
  track: StreamTrack,
  chunk: number,
  timestampMs: number,
  payload: string,
) => string {
  const head = `{"event":"media","sequenceNumber":"`;
  const middle = `","streamSid":${JSON.stringify(streamSid)},"media":{"track":"`;
  return (sequenceNumber, track, chunk, timestampMs, payload) =>
    `${head}${sequenceNumber}${middle}${track}","chunk":"${chunk}","timestamp":"${timestampMs}","payload":"${payload}"}}`;
}

/** `stop`: the last message of a stream. A `reason` field is UNCONFIRMED, so none is sent. */
export function stopMessage(spec: MediaStreamSpec, sequenceNumber: number): string {
  return JSON.stringify({
    event: 'stop',
    sequenceNumber: String(sequenceNumber),
    streamSid: spec.streamSid,
    stop: { accountSid: spec.accountSid, callSid: spec.callSid },
  });
}
