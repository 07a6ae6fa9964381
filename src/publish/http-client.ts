/**
 * @module The HTTP calls of the API publishers (Gumroad, Vercel, Apify): `fetch` with a bearer token in the
 * `Authorization` header (never in a URL, so no log line or error carries it), JSON in and out, and one error for a
 * refusal: `PUBLISH_FAILED` naming the step, method, URL, status and the API's own message (the caller masks it).
 */
import { AutodevError } from '../errors.js';

export interface HttpRequest {
  step: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  token?: string;
  json?: unknown;
  body?: Buffer;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  json: unknown;
}

/** The API's message in a failed answer (`{error:{message}}`, `{message}`, `{error: "..."}`), else the text's start. */
function apiMessage(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const error = body.error;
    if (typeof error === 'string') return error;
    if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
      return (error as { message: string }).message;
    }
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not JSON
  }
  return text.slice(0, 300);
}

/** Sends one request; a status outside 2xx (and not in `allow`) throws `PUBLISH_FAILED`. */
export async function sendRequest(request: HttpRequest, allow: readonly number[] = []): Promise<HttpResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
  let body: string | Buffer | undefined = request.body;
  if (request.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.json);
  }
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
  } catch (error) {
    throw new AutodevError(
      'PUBLISH_FAILED',
      `${request.step}: ${request.method} ${request.url} could not be sent: ${(error as Error).message}`,
    );
  }
  const text = await response.text();
  if (!response.ok && !allow.includes(response.status)) {
    throw new AutodevError(
      'PUBLISH_FAILED',
      `${request.step}: ${request.method} ${request.url} answered ${response.status}: ${apiMessage(text)}`,
    );
  }
  let json: unknown = null;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
  }
  return { status: response.status, headers: response.headers, json };
}
