// A real OpenID provider for taskapi's interoperability tests: panva's
// certified oidc-provider, configured like an Auth0 tenant with the
// tutorial's API. It listens on 127.0.0.1 only.
//
//   node server.js [--port N] [--device-interval S]
//
// On start it prints one JSON line to stdout, {"issuer": "http://127.0.0.1:N"},
// then logs to stderr. Every start generates a new RS256 signing key (a new
// "kid"): restarting it on the same port is how the tests rotate keys.
//
// What it serves (all in memory, nothing persists):
//   - the API resource indicator urn:task-manager-api, whose JWT access
//     tokens (RS256) carry aud "task-manager-api" and the scopes
//     read:tasks write:tasks delete:tasks; urn:other-api (aud "other-api")
//     for tokens of another audience;
//   - urn:task-manager-api-opaque: the same API (aud "task-manager-api")
//     with opaque (reference) access tokens, which resource servers verify
//     at the introspection endpoint (RFC 7662, enabled);
//   - taskapi-rs: a confidential client without grants that authenticates
//     with client_secret_post, for introspection;
//   - taskapi-m2m and other-m2m: confidential clients for the client
//     credentials grant (secrets below: test fixtures, not secrets);
//   - taskapi-cli: a public native client for the device grant and the
//     authorization code grant with PKCE on a loopback redirect
//     (http://127.0.0.1/callback, any port, RFC 8252 §7.3);
//   - devInteractions: a login form that accepts any login and password,
//     then a consent form, which the Go tests fill in over HTTP.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'device-interval': { type: 'string', default: '1' },
  },
});

const port = Number(args.port);
const deviceInterval = Number(args['device-interval']);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  throw new Error(`--port ${args.port}: want a port number`);
}
if (!Number.isInteger(deviceInterval) || deviceInterval < 1) {
  throw new Error(`--device-interval ${args['device-interval']}: want whole seconds, at least 1`);
}

const scopes = 'read:tasks write:tasks delete:tasks';

// Resource servers by resource indicator (RFC 8707).
const resourceServers = {
  'urn:task-manager-api': { audience: 'task-manager-api', scope: scopes },
  'urn:other-api': { audience: 'other-api', scope: scopes },
  'urn:task-manager-api-opaque': { audience: 'task-manager-api', scope: scopes, accessTokenFormat: 'opaque' },
};

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
}

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey()] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  clients: [
    {
      client_id: 'taskapi-m2m',
      client_secret: 'taskapi-m2m-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: 'other-m2m',
      client_secret: 'other-m2m-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: 'taskapi-rs',
      client_secret: 'taskapi-rs-secret',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: 'taskapi-cli',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
  ],
  scopes: ['openid', 'offline_access'],
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Without a resource parameter (as Auth0 clients send "audience"
      // instead), tokens are for the task API.
      defaultResource: (_ctx, _client, oneOf) => oneOf ?? 'urn:task-manager-api',
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => {
        const rs = resourceServers[indicator];
        if (!rs) throw new errors.InvalidTarget();
        if (rs.accessTokenFormat === 'opaque') {
          return { ...rs, accessTokenTTL: 3600 };
        }
        return {
          ...rs,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // An opaque client credentials token has no subject of its own; give it
  // the client's, as the JWT format does (RFC 9068 §2.2), so that its
  // introspection response names one.
  extraTokenClaims: (_ctx, token) => (token.kind === 'ClientCredentials' && token.resourceServer?.accessTokenFormat === 'opaque'
    ? { sub: token.clientId } : undefined),
  // Refresh tokens for the native client whenever offline_access is asked.
  issueRefreshToken: (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  ttl: { AccessToken: 3600, DeviceCode: 600, Interaction: 600, Session: 3600, Grant: 3600 },
});

// Providers choose the device polling interval (RFC 8628 §3.2); a short one
// keeps the tests quick.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
    ctx.body.interval = deviceInterval;
  }
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
