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

/**
 * Fills `{key}` placeholders of `template` from `values`; null when a placeholder has no value
 * (the template does not apply to this stream).
 */
export function renderTemplate(
  template: string,
  values: Readonly<Record<string, string>>,
): string | null {
  const missing: string[] = [];
  const text = template.replace(/\{([^{}]+)\}/g, (_match, key: string) => {
    const value = Object.hasOwn(values, key) ? values[key] : undefined;
    if (value === undefined) missing.push(key);
    return value ?? '';
  });
  return missing.length > 0 ? null : text;
}

/**
 * The base name for a stream: the sanitised `fileNameTemplate` filled from the custom parameters
 * (plus `streamSid` and `callSid`) when it is given and applies, else the sanitised name
 * parameter, else the streamSid.
 */
export function recordingBaseName(input: {
  readonly streamName: string | null;
  readonly streamSid: string;
  readonly callSid: string;
  readonly customParameters: Readonly<Record<string, string>>;
  readonly fileNameTemplate: string | undefined;
}): string {
  if (input.fileNameTemplate !== undefined) {
    const values = {
      ...input.customParameters,
      streamSid: input.streamSid,
      callSid: input.callSid,
    };
    const rendered = renderTemplate(input.fileNameTemplate, values);
    const name = rendered === null ? '' : sanitiseName(rendered);
    if (name !== '') return name;
  }
  const fromName = input.streamName === null ? '' : sanitiseName(input.streamName);
  return fromName === '' ? input.streamSid : fromName;
}

/** The `attempt`-th candidate name: `name`, then `name-2`, `name-3`, … */
export function candidateName(base: string, attempt: number): string {
  return attempt <= 1 ? base : `${base}-${attempt}`;
}
