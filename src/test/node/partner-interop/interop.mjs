// Partner interoperability check (issue 7): a standard OAuth client library, openid-client, acts as a partner system
// against a running Frontline (FRONTLINE_URL, whose issuer must be that URL):
//   1. an admin (admin / frontline-dev) registers a private_key_jwt client with a public key made here, granted
//      events:read on officer.xu's home unit and SITE reports;
//   2. openid-client discovers the server through its RFC 8414 metadata (/.well-known/oauth-authorization-server)
//      and gets an access token by client_credentials, authenticating with PrivateKeyJwt (RFC 7523);
//   3. officer.xu submits a report through the people's API;
//   4. the partner reads the event feed (GET /v1/events) with its token until the report's report.completed event.
// Any step that fails exits 1 with a message naming it.
import * as client from 'openid-client';

// Anything thrown outside a named step (e.g. the server not answering at all) still fails with a message.
process.on('uncaughtException', (e) => {
  console.error(`partner-interop: FAILED: ${e.message}${e.cause ? ` (${e.cause.message ?? e.cause})` : ''}`);
  process.exit(1);
});

const base = process.env.FRONTLINE_URL;
if (!base) {
  fail('setup', 'FRONTLINE_URL is not set');
}

function fail(step, message) {
  console.error(`partner-interop: FAILED at ${step}: ${message}`);
  process.exit(1);
}

async function json(step, response, status) {
  const text = await response.text();
  if (response.status !== status) {
    fail(step, `expected HTTP ${status}, got ${response.status}: ${text}`);
  }
  return JSON.parse(text);
}

async function login(username) {
  const r = await fetch(`${base}/v1/auth/login`, {
    method: 'POST', headers: {'content-type': 'application/json'},
    body: JSON.stringify({username, password: 'frontline-dev'}),
  });
  return (await json(`login as ${username}`, r, 200)).access_token;
}

async function api(step, token, method, path, body, status) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: {authorization: `Bearer ${token}`, ...(body ? {'content-type': 'application/json'} : {})},
    body: body ? JSON.stringify(body) : undefined,
  });
  return json(step, r, status);
}

// 1. The partner's key pair (P-256, ES256): only the public half is registered, inline.
const keys = await crypto.subtle.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, true, ['sign', 'verify']);
const kid = `interop-${Date.now()}`;
const publicJwk = {...await crypto.subtle.exportKey('jwk', keys.publicKey), kid, alg: 'ES256'};
delete publicJwk.key_ops;
delete publicJwk.ext;

const admin = await login('admin');
const xu = await login('officer.xu');
const me = await api('GET /v1/me (officer.xu)', xu, 'GET', '/v1/me', null, 200);
const unitId = me.homeUnit.id;
const registered = await api('register the partner client (POST /v1/partner-clients)', admin, 'POST',
  '/v1/partner-clients', {
    name: 'Interop partner (openid-client)', authMethod: 'private_key_jwt', scopes: ['events:read'],
    unitIds: [unitId], reportTypes: ['SITE'], jwks: {keys: [publicJwk]},
  }, 201);
console.log(`partner-interop: registered client ${registered.id} (private_key_jwt, kid ${kid})`);

// 2. RFC 8414 discovery, then client_credentials with private_key_jwt. The dev server speaks plain http, which
// openid-client refuses unless told (allowInsecureRequests); a production issuer is https.
let config;
try {
  config = await client.discovery(new URL(base), registered.id, {token_endpoint_auth_method: 'private_key_jwt'},
    client.PrivateKeyJwt({key: keys.privateKey, kid}), {algorithm: 'oauth2', execute: [client.allowInsecureRequests]});
} catch (e) {
  fail('RFC 8414 discovery', `${e.code ?? ''} ${e.message}${e.cause ? ` (${JSON.stringify(e.cause)})` : ''}`);
}
const metadata = config.serverMetadata();
if (!metadata.token_endpoint_auth_methods_supported?.includes('private_key_jwt')) {
  fail('RFC 8414 discovery', `the metadata does not list private_key_jwt: ${JSON.stringify(metadata)}`);
}
let tokens;
try {
  tokens = await client.clientCredentialsGrant(config, {scope: 'events:read'});
} catch (e) {
  fail('client_credentials grant with private_key_jwt', `${e.code ?? ''} ${e.error ?? ''} ${e.message}`
    + `${e.cause ? ` (${JSON.stringify(e.cause)})` : ''}`);
}
if (tokens.token_type?.toLowerCase() !== 'bearer' || !tokens.access_token || tokens.refresh_token) {
  fail('client_credentials grant with private_key_jwt', `unexpected token response: ${JSON.stringify(tokens)}`);
}
console.log(`partner-interop: token from ${metadata.token_endpoint} (scope "${tokens.scope}", expires in ${tokens.expires_in} s)`);

// 3. A report by officer.xu (no attachments: complete at once, so its report.completed event follows).
const reportId = crypto.randomUUID();
await api('submit a report as officer.xu (POST /v1/reports)', xu, 'POST', '/v1/reports', {
  id: reportId, type: 'SITE', unitId, capturedAt: new Date().toISOString(),
  location: {lat: 32.5, lon: 119.0, accuracyM: 6, provider: 'gps', mock: false},
  title: 'Interop site visit', body: {observations: ['Checked by the partner interop run']},
}, 201);
console.log(`partner-interop: officer.xu submitted report ${reportId}`);

// 4. The feed, read with openid-client's protected resource request, page by page, until the event shows (the feed
// holds an event back while any older transaction runs, so it may take a moment); bounded to 60 s.
const deadline = Date.now() + 60_000;
let after = null;
let found = null;
while (!found && Date.now() < deadline) {
  const url = new URL(`${base}/v1/events`);
  url.searchParams.set('limit', '200');
  if (after) {
    url.searchParams.set('after', after);
  }
  const r = await client.fetchProtectedResource(config, tokens.access_token, url, 'GET');
  const page = await json('read the event feed (GET /v1/events) with the partner token', r, 200);
  found = page.items.find((e) => e.type === 'report.completed' && e.data.reportId === reportId);
  if (page.items.length === 0) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  after = page.nextCursor ?? after;
}
if (!found) {
  fail('event feed', `no report.completed event for report ${reportId} within 60 s`);
}
if (found.data.unitId !== unitId || found.data.reportType !== 'SITE') {
  fail('event feed', `the event does not describe the report: ${JSON.stringify(found)}`);
}
console.log(`partner-interop: read event ${found.id} (report.completed of ${reportId}) from the feed`);
console.log('partner-interop: OK');
