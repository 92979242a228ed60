// express-oauth2-jwt-bearer 1.10 behind Express, configured as the
// tutorial does (auth({ audience, issuerBaseURL }), DPoP on by default),
// for taskapi's differential tests: the Go tests send the same requests
// here and to package bearer and compare status, WWW-Authenticate and body.
// It listens on 127.0.0.1 only.
//
//   node server.js --issuer URL --audience AUD
//
// On start it prints one JSON line to stdout, {"url": "http://127.0.0.1:N"}.
// Every route answers 200 {"sub": …} with a verified token; failures go
// through the tutorial's error handler, which also copies the error's
// headers (WWW-Authenticate), as Express's default handler would.
//
// POST /jose signs with npm jose instead (an independent JOSE
// implementation, for ES256K test vectors): the body is
//   {"op": "sign", "jwk": {private JWK}, "header": {...}, "payload": {...} or "raw": "…"}
//   {"op": "thumbprint", "jwk": {...}}
//   {"op": "verify", "jwk": {public JWK}, "token": "…", "alg": "ES256K"}
// and the answer {"result": …} or {"error": message}.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import express from 'express';
import { auth, UnauthorizedError } from 'express-oauth2-jwt-bearer';
import { CompactSign, calculateJwkThumbprint, compactVerify, importJWK } from 'jose';

const { values: args } = parseArgs({
  options: {
    issuer: { type: 'string' },
    audience: { type: 'string' },
  },
});
if (!args.issuer || !args.audience) {
  throw new Error('usage: node server.js --issuer URL --audience AUD');
}

// Body parsers as the tutorial's server mounts them.
const app = express();
app.use(express.json());
app.use(express.urlencoded({ extended: true }));

app.post('/jose', async (req, res) => {
  try {
    const { op, jwk, header, payload, raw, token, alg } = req.body;
    switch (op) {
      case 'sign': {
        const key = await importJWK(jwk, header.alg);
        const bytes = new TextEncoder().encode(raw ?? JSON.stringify(payload));
        const jws = await new CompactSign(bytes).setProtectedHeader(header).sign(key);
        return res.json({ result: jws });
      }
      case 'thumbprint':
        return res.json({ result: await calculateJwkThumbprint(jwk, 'sha256') });
      case 'verify': {
        const key = await importJWK(jwk, alg);
        const { payload: out } = await compactVerify(token, key);
        return res.json({ result: new TextDecoder().decode(out) });
      }
      default:
        return res.status(400).json({ error: `unknown op ${op}` });
    }
  } catch (err) {
    return res.json({ error: err.message });
  }
});

app.use(auth({ issuerBaseURL: args.issuer, audience: args.audience }));
app.all('*', (req, res) => res.json({ sub: req.auth.payload.sub }));

// The tutorial's error handler, plus the error's headers.
app.use((err, req, res, next) => {
  if (err instanceof UnauthorizedError) {
    res.set(err.headers || {});
    return res.status(err.statusCode).json({ error: err.message, code: err.code || 'ERR_AUTH' });
  }
  return next(err);
});

const server = createServer(app);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
