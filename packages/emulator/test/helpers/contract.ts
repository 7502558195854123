import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import twilio from 'twilio';
import { emulatorHttpClient, type Emulator } from '../../src/index.js';

/** Twilio's OpenAPI 3 spec of the Voice API (see `../contracts/README.md`). */
interface OpenApiSpec {
  paths: Record<string, Record<string, { responses?: Record<string, OpenApiResponse> }>>;
  components: { schemas: Record<string, unknown> };
}
interface OpenApiResponse {
  content?: Record<string, { schema?: unknown }>;
}

const load = (file: string): OpenApiSpec =>
  JSON.parse(readFileSync(new URL(`../contracts/${file}`, import.meta.url), 'utf8')) as OpenApiSpec;
const spec = load('twilio_api_v2010.json');
/** TaskRouter v1, for `/v1/Workspaces/…` answers. */
const taskRouterSpec = load('twilio_taskrouter_v1.json');

/**
 * The one correction applied to the spec: `reason_conference_ended` is documented as "null while the
 * conference is in progress" (its own description) but its enum schema is not `nullable`, so real
 * Twilio payloads would fail it. The enum is widened to admit null, nothing else.
 */
const reasonEnum = spec.components.schemas.conference_enum_reason_conference_ended as {
  type: unknown;
  enum: unknown[];
};
reasonEnum.type = ['string', 'null'];
reasonEnum.enum = [...reasonEnum.enum, null];

const RFC_2822 =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/;

/**
 * Ajv for OpenAPI 3: `nullable` is understood by Ajv itself, `x-twilio` and other vendor keywords
 * are ignored, and Twilio's formats are checked where they matter (RFC 2822 dates) or accepted
 * (`uri` is a relative reference in v2010 payloads, e.g. `first_page_uri`).
 */
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('date-time-rfc-2822', RFC_2822);
for (const format of ['uri', 'uri-map', 'currency', 'phone-number', 'endpoint', 'date-time']) {
  ajv.addFormat(format, true);
}

const compiled = new Map<string, ValidateFunction>();

/** The spec that describes a URL path: TaskRouter v1 for `/v1/…`, else the Voice API. */
function specOf(path: string): OpenApiSpec {
  return path.startsWith('/v1/') ? taskRouterSpec : spec;
}

/** Finds the spec path template (`/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json`) of a URL path. */
export function specPathOf(path: string): string | undefined {
  return Object.keys(specOf(path).paths).find((template) => {
    const pattern = new RegExp(
      '^' +
        template
          .split(/\{[^}]+\}/)
          .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
          .join('[^/]+') +
        '$',
    );
    return pattern.test(path);
  });
}

/** Validates one response body against the spec's schema for that path, method and status. */
export function validateResponse(
  method: string,
  path: string,
  status: number,
  body: unknown,
): string[] {
  const template = specPathOf(path);
  if (template === undefined) return [`no spec path matches ${path}`];
  const key = `${method.toLowerCase()} ${template} ${status}`;
  let validate = compiled.get(key);
  if (validate === undefined) {
    const owner = specOf(path);
    const operation = owner.paths[template]?.[method.toLowerCase()];
    const schema = operation?.responses?.[String(status)]?.content?.['application/json']?.schema;
    if (schema === undefined) return [`the spec has no ${key} response schema`];
    validate = ajv.compile({ ...(schema as object), components: owner.components });
    compiled.set(key, validate);
  }
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

/** One exchange the SDK made, as it saw it. */
export interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly statusCode: number;
  readonly body: unknown;
}

/**
 * A twilio client pointed at the emulator through `emulatorHttpClient`, recording every response
 * the SDK received so a test can validate all of them against the spec.
 */
export function recordingClient(
  emu: Emulator,
  credentials: { username: string; password: string } = {
    username: emu.accountSid,
    password: emu.authToken,
  },
): { client: twilio.Twilio; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  const httpClient = emulatorHttpClient(emu.url);
  const original = httpClient.request.bind(httpClient);
  httpClient.request = async (opts) => {
    const response = await original(opts);
    exchanges.push({
      method: opts.method.toUpperCase(),
      path: new URL(opts.uri).pathname,
      statusCode: response.statusCode,
      body:
        typeof response.body === 'string' && response.body !== ''
          ? JSON.parse(response.body)
          : response.body,
    });
    return response;
  };
  const client = twilio(credentials.username, credentials.password, {
    httpClient,
    accountSid: emu.accountSid,
  });
  return { client, exchanges };
}

/**
 * Every recorded exchange validated: 2xx bodies against the spec, errors against Twilio's legacy
 * error shape `{code, message, more_info, status}` (and never both `type` and `title`).
 */
export function contractViolations(exchanges: readonly Exchange[]): string[] {
  const problems: string[] = [];
  for (const exchange of exchanges) {
    const where = `${exchange.method} ${exchange.path} ${exchange.statusCode}`;
    if (exchange.statusCode === 204) continue;
    if (exchange.statusCode >= 200 && exchange.statusCode < 300) {
      for (const problem of validateResponse(
        exchange.method,
        exchange.path,
        exchange.statusCode,
        exchange.body,
      )) {
        problems.push(`${where}: ${problem}`);
      }
      continue;
    }
    const body = exchange.body as Record<string, unknown> | null;
    if (
      body === null ||
      typeof body.code !== 'number' ||
      typeof body.message !== 'string' ||
      body.more_info !== `https://www.twilio.com/docs/errors/${body.code}` ||
      body.status !== exchange.statusCode ||
      ('type' in body && 'title' in body)
    ) {
      problems.push(`${where}: not a Twilio error body: ${JSON.stringify(body)}`);
    }
  }
  return problems;
}

/** Polls `read` until it returns a value that passes `done`, or fails after `timeoutMs`. */
export async function waitFor<T>(
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
