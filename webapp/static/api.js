// The API client: the bearer token on every request, an Idempotency-Key
// on every write (so that repeating it is safe), the API's error bodies
// kept whole, 401 ends the session, and 429/503 wait as long as
// Retry-After says before trying again.
import * as auth from './auth.js';
import {say} from './ui.js';

// ApiError is an error answer of the API: status, body {error, code,
// errors?} and the request id.
export class ApiError extends Error {
  constructor(status, body, requestId) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.requestId = requestId;
  }
}

// SessionEnded is thrown when there is no usable token: the application
// has switched to the sign-in screen already.
export class SessionEnded extends Error {}

const MAX_RETRIES = 3;
const MAX_WAIT_SECONDS = 60;

// retryAfter reads Retry-After (seconds, or an HTTP date) in seconds.
function retryAfter(value) {
  if (!value) return 1;
  const n = Number(value);
  if (Number.isFinite(n)) return Math.max(0, n);
  const at = Date.parse(value);
  return Number.isNaN(at) ? 1 : Math.max(0, (at - Date.now()) / 1000);
}

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));

// request calls the API. opts: query (object; empty values dropped), body
// (JSON), ifMatch (an ETag), contentType. Resolves {status, body, etag}.
// Retried after Retry-After: 429 and 503 (the request was not applied),
// and for a write, which carries the same Idempotency-Key each time, a
// 409 ERR_IDEMPOTENCY_KEY_IN_PROGRESS and a 504 (outcome unknown: the
// repeat answers what the first one did).
export async function request(method, path, opts = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(opts.query ?? {})) {
    if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, v);
  }
  const idempotencyKey = method === 'GET' ? null : crypto.randomUUID();
  for (let attempt = 0; ; attempt++) {
    const token = auth.accessToken();
    if (!token) {
      auth.end('expired');
      throw new SessionEnded('no token');
    }
    const headers = {Authorization: `Bearer ${token}`, Accept: 'application/json'};
    if (opts.body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
    if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    const res = await fetch(url, {
      method, headers, credentials: 'omit', cache: 'no-store',
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = res.status === 204 ? '' : await res.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = {error: text.slice(0, 500)};
    }
    const retryable = res.status === 429 || res.status === 503 ||
      (idempotencyKey && (res.status === 504 || body?.code === 'ERR_IDEMPOTENCY_KEY_IN_PROGRESS'));
    const wait = retryAfter(res.headers.get('Retry-After'));
    if (retryable && attempt < MAX_RETRIES && wait <= MAX_WAIT_SECONDS) {
      say(`The server asked to wait (HTTP ${res.status}); trying again in ${Math.ceil(wait)} s…`);
      await sleep(wait);
      continue;
    }
    if (res.status === 401) {
      auth.end('rejected', body?.error);
      throw new SessionEnded(body?.error ?? 'unauthorized');
    }
    if (!res.ok) {
      const err = new ApiError(res.status, body, res.headers.get('X-Request-Id'));
      if (res.status === 429 || res.status === 503) err.retryAfter = wait;
      throw err;
    }
    return {status: res.status, body, etag: res.headers.get('ETag')};
  }
}

// allPages fetches every page of a list (projects for the selects), at
// most max items.
export async function allPages(path, key, max = 1000) {
  const items = [];
  let token = null;
  do {
    const {body} = await request('GET', path, {query: {page_token: token}});
    items.push(...body[key]);
    token = body.next_page_token;
  } while (token && items.length < max);
  return items;
}
