/**
 * File names a person can navigate: `<recordings>/<CallSid>/<name>.wav`. The name comes from the
 * stream's custom parameters and is sanitised so it can never leave the call's folder.
 */

const MAX_NAME_LENGTH = 80;

/** Keeps letters, digits, `.`, `_` and `-`; anything else becomes `_`; no leading dot. */
export function sanitiseName(raw: string): string {
  const cleaned = raw
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, MAX_NAME_LENGTH)
    .replace(/[._]+$/, '');
  return cleaned;
}

/** The base name for a stream: its sanitised name parameter, else its streamSid. */
export function recordingBaseName(streamName: string | null, streamSid: string): string {
  const fromName = streamName === null ? '' : sanitiseName(streamName);
  return fromName === '' ? streamSid : fromName;
}

/** The `attempt`-th candidate name: `name`, then `name-2`, `name-3`, … */
export function candidateName(base: string, attempt: number): string {
  return attempt <= 1 ? base : `${base}-${attempt}`;
}
