import { twilioErrors } from '../errors.js';
import type { HttpMethod } from '../twiml/parse.js';

/** A parsed form body or query: repeated keys carry arrays (qs). */
export type FormParams = Readonly<Record<string, unknown>>;

/** The parameter as one string (the first of repeated values), or undefined. */
export function str(params: FormParams, name: string): string | undefined {
  const value = params[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** Every value of a repeated (or space-separated) list parameter. */
export function list(params: FormParams, name: string): string[] {
  const value = params[name];
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values
    .filter((v): v is string => typeof v === 'string')
    .flatMap((v) => v.split(/[\s,]+/))
    .filter((v) => v !== '');
}

/** A boolean parameter; twilio-node sends `"true"` / `"false"` (twilio-facts §5). */
export function bool(params: FormParams, name: string): boolean | undefined {
  const value = str(params, name);
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw twilioErrors.invalidParameter(name, value);
}

/** `GET` or `POST` (default POST unless `fallback` says otherwise). */
export function method(
  params: FormParams,
  name: string,
  fallback: HttpMethod = 'POST',
): HttpMethod {
  const value = str(params, name);
  if (value === undefined || value === '') return fallback;
  const upper = value.toUpperCase();
  if (upper === 'GET' || upper === 'POST') return upper;
  throw twilioErrors.invalidParameter(name, value);
}

/** An absolute http(s)/ws(s) URL, or throws 21205. */
export function absoluteUrl(value: string): string {
  try {
    return new URL(value).toString();
  } catch {
    throw twilioErrors.invalidUrl(value);
  }
}

/** Reads PageSize (default 50, max 1000) and Page (or the `PT<start>` PageToken). */
export function paging(params: FormParams): { page: number; pageSize: number } {
  const sizeText = str(params, 'PageSize');
  const pageSize = sizeText === undefined ? 50 : Number(sizeText);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw twilioErrors.invalidParameter('PageSize', sizeText ?? '');
  }
  const token = str(params, 'PageToken');
  if (token !== undefined && /^PT\d+$/.test(token)) {
    return { page: Math.floor(Number(token.slice(2)) / pageSize), pageSize };
  }
  const pageText = str(params, 'Page');
  const page = pageText === undefined ? 0 : Number(pageText);
  if (!Number.isInteger(page) || page < 0)
    throw twilioErrors.invalidParameter('Page', pageText ?? '');
  return { page, pageSize };
}

/** The filter parameters echoed in paging URIs. */
export function filters(params: FormParams, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = str(params, name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}
