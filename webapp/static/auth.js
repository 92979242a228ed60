// Sign-in: OAuth 2.0 authorization code flow with PKCE (RFC 7636, S256)
// from the browser, as OpenID Connect. The access token lives in this
// module's memory only (never in localStorage or sessionStorage): a reload
// starts a new authorization request, which the provider answers without
// a prompt while its own session lasts. sessionStorage holds only what
// must survive the redirect: state, nonce and the PKCE verifier, removed
// when the provider answers.

const PENDING = 'taskapi.signin';       // sessionStorage: the request in flight
const SIGNED_OUT = 'taskapi.signedout'; // sessionStorage: "signed out, do not sign in again by itself"

let config;   // GET /app/config.json
let metadata; // the provider's discovery document
let session = null; // {accessToken, expiresAt, subject, name, idToken}
let expiryTimer;
let onEnded = () => {};

export class SignInError extends Error {}

export function configure(cfg, {ended}) {
  config = cfg;
  onEnded = ended;
}

export const redirectURI = () => location.origin + '/app/callback';

export function accessToken() {
  return session && Date.now() < session.expiresAt ? session.accessToken : null;
}

export const user = () => session && {subject: session.subject, name: session.name};

// discover fetches the provider's metadata and checks that it names the
// configured issuer (a document naming another could send the code and
// verifier anywhere).
async function discover() {
  if (metadata) return metadata;
  const base = config.issuer.replace(/\/+$/, '');
  let res;
  try {
    res = await fetch(base + '/.well-known/openid-configuration', {credentials: 'omit'});
  } catch (e) {
    throw new SignInError(`The identity provider at ${base} cannot be reached (${e.message}).`);
  }
  if (!res.ok) throw new SignInError(`The identity provider's discovery document answered HTTP ${res.status}.`);
  const md = await res.json();
  if (typeof md.issuer !== 'string' || md.issuer.replace(/\/+$/, '') !== base) {
    throw new SignInError(`The discovery document names the issuer ${md.issuer}, not ${base}: refusing to sign in.`);
  }
  if (!md.authorization_endpoint || !md.token_endpoint) {
    throw new SignInError('The identity provider lists no authorization or token endpoint.');
  }
  metadata = md;
  return md;
}

function base64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const random = () => base64url(crypto.getRandomValues(new Uint8Array(32))); // 43 characters

async function s256(text) {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
}

// signIn sends the browser to the provider's authorization endpoint.
// returnTo is the view (#tasks…) to show after.
export async function signIn(returnTo = location.hash) {
  if (!window.isSecureContext || !crypto.subtle) {
    throw new SignInError('Signing in needs a secure page: open the application over https (or on localhost).');
  }
  const md = await discover();
  const pending = {state: random(), nonce: random(), verifier: random(), returnTo};
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: config.client_id,
    redirect_uri: redirectURI(),
    scope: config.scope,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await s256(pending.verifier),
    code_challenge_method: 'S256',
  });
  if (config.audience) params.set('audience', config.audience);
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  sessionStorage.removeItem(SIGNED_OUT);
  const url = new URL(md.authorization_endpoint);
  for (const [k, v] of params) url.searchParams.set(k, v);
  location.assign(url.href);
}

// completeSignIn handles the redirect back to /app/callback: checks state
// and iss, exchanges the code with the verifier, checks the ID token's
// nonce, issuer, audience and expiry, and keeps the tokens in memory. The
// code is removed from the address bar and history at once.
export async function completeSignIn() {
  const q = new URLSearchParams(location.search);
  let pending = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(PENDING));
  } catch { /* treated as missing */ }
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', '/' + (pending?.returnTo || '#tasks'));
  if (!pending || !q.get('state') || q.get('state') !== pending.state) {
    throw new SignInError('This sign-in response does not belong to a sign-in started in this window (state mismatch). Sign in again.');
  }
  const md = await discover();
  if (q.has('iss') && q.get('iss') !== md.issuer) {
    throw new SignInError(`The sign-in response comes from ${q.get('iss')}, not ${md.issuer}.`);
  }
  if (q.has('error')) {
    throw new SignInError(`The identity provider refused the sign-in: ${q.get('error')}${q.get('error_description') ? ': ' + q.get('error_description') : ''}.`);
  }
  const res = await fetch(md.token_endpoint, {
    method: 'POST',
    credentials: 'omit',
    headers: {'Content-Type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: config.client_id,
      code: q.get('code') ?? '',
      redirect_uri: redirectURI(),
      code_verifier: pending.verifier,
    }),
  });
  const tok = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new SignInError(`The token endpoint refused the code: ${tok.error ?? 'HTTP ' + res.status}${tok.error_description ? ': ' + tok.error_description : ''}.`);
  }
  if (!tok.access_token || !tok.id_token) throw new SignInError('The token endpoint returned no access token or no ID token.');
  const id = jwtClaims(tok.id_token);
  const aud = Array.isArray(id.aud) ? id.aud : [id.aud];
  if (id.nonce !== pending.nonce) throw new SignInError('The ID token does not carry this sign-in\'s nonce: refusing it.');
  if (id.iss !== md.issuer) throw new SignInError(`The ID token was issued by ${id.iss}, not ${md.issuer}.`);
  if (!aud.includes(config.client_id)) throw new SignInError('The ID token is not meant for this application (aud).');
  if (typeof id.exp !== 'number' || id.exp * 1000 < Date.now()) throw new SignInError('The ID token has expired: check this computer\'s clock.');
  const lifetime = Number(tok.expires_in) > 0 ? Number(tok.expires_in) * 1000 : 3600 * 1000;
  session = {
    accessToken: tok.access_token,
    expiresAt: Date.now() + lifetime,
    subject: id.sub,
    name: id.name || id.email || id.sub,
    idToken: tok.id_token,
  };
  clearTimeout(expiryTimer);
  // setTimeout fires at once past 2^31 ms; a token living longer is checked on use.
  if (lifetime < 2 ** 31) expiryTimer = setTimeout(() => end('expired'), lifetime);
}

// jwtClaims decodes a JWT's payload. The ID token's signature is not
// checked: it came straight from the token endpoint over the connection
// the browser opened (OpenID Connect Core §3.1.3.7 allows relying on TLS).
function jwtClaims(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new SignInError('The ID token cannot be read.');
  }
}

// end forgets the tokens and tells the application why: 'expired' or
// 'rejected' (the API answered 401).
export function end(reason, detail) {
  if (!session) return;
  session = null;
  clearTimeout(expiryTimer);
  onEnded(reason, detail);
}

// signOut forgets the tokens and, when the provider offers RP-initiated
// logout (end_session_endpoint), ends its session too and comes back to /.
// Returns false when only this application signed out.
export async function signOut() {
  const idToken = session?.idToken;
  session = null;
  clearTimeout(expiryTimer);
  sessionStorage.setItem(SIGNED_OUT, '1');
  const md = await discover().catch(() => null);
  if (!md?.end_session_endpoint) return false;
  const url = new URL(md.end_session_endpoint);
  url.searchParams.set('client_id', config.client_id);
  url.searchParams.set('post_logout_redirect_uri', location.origin + '/');
  if (idToken) url.searchParams.set('id_token_hint', idToken);
  location.assign(url.href);
  return true;
}

// signedOut reports that the user signed out in this tab (until the next
// sign-in), so that the landing page does not sign in again by itself.
export const signedOut = () => sessionStorage.getItem(SIGNED_OUT) === '1';
