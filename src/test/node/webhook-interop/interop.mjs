// Webhook interoperability: a partner client is registered through the admin API, obtains a token
// (client_credentials, client_secret_basic), subscribes a local Node HTTP receiver to report.completed, officer.xu
// submits a report, and the delivered webhook must verify with the `standardwebhooks` npm package (the reference
// TypeScript implementation of the Standard Webhooks specification) and carry that report.
//
//   FRONTLINE_URL=http://127.0.0.1:8080 node interop.mjs      (against a dev-mode server: http and loopback allowed)
//
// Exit status 0 only when every check holds.
import standardwebhooks from 'standardwebhooks';
import crypto from 'node:crypto';
import http from 'node:http';

const { Webhook, WebhookVerificationError } = standardwebhooks;
const base = (process.env.FRONTLINE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');

function fail(message) {
  console.error('webhook-interop: FAILED: ' + message);
  process.exit(1);
}

/** The demo organisation's ids: UUID v3 (MD5) of "frontline-demo:<name>", as Java's UUID.nameUUIDFromBytes. */
function demoId(name) {
  const b = crypto.createHash('md5').update('frontline-demo:' + name, 'utf8').digest();
  b[6] = (b[6] & 0x0f) | 0x30;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function call(method, path, token, body, headers = {}) {
  const r = await fetch(base + path, {
    method,
    headers: { ...(token ? { Authorization: 'Bearer ' + token } : {}),
      ...(body && typeof body !== 'string' ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined || body === null ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: r.status, body: json };
}

async function login(username) {
  const r = await call('POST', '/v1/auth/login', null, { username, password: 'frontline-dev' });
  if (r.status !== 200) fail(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.access_token;
}

// The receiver: records each delivery (headers, raw body) and answers 204.
const deliveries = [];
let arrived;
const arrival = new Promise((resolve) => { arrived = resolve; });
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    deliveries.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(204).end();
    arrived();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

try {
  // 1. The admin registers a partner client granted Hanjiang, SITE reports, events:read and webhooks:manage.
  const admin = await login('admin');
  const client = await call('POST', '/v1/partner-clients', admin, {
    name: 'webhook interop', authMethod: 'client_secret_basic', scopes: ['events:read', 'webhooks:manage'],
    unitIds: [demoId('Hanjiang')], reportTypes: ['SITE'],
  });
  if (client.status !== 201) fail(`register client: ${client.status} ${JSON.stringify(client.body)}`);

  // 2. A token by client_credentials.
  const basic = Buffer.from(`${client.body.id}:${client.body.clientSecret}`).toString('base64');
  const tokenAnswer = await call('POST', '/oauth2/token', null, 'grant_type=client_credentials',
    { Authorization: 'Basic ' + basic, 'Content-Type': 'application/x-www-form-urlencoded' });
  if (tokenAnswer.status !== 200) fail(`token: ${tokenAnswer.status} ${JSON.stringify(tokenAnswer.body)}`);
  const partner = tokenAnswer.body.access_token;

  // 3. Subscribe the receiver.
  const sub = await call('POST', '/v1/webhooks', partner, { url: hookUrl, eventTypes: ['report.completed'] });
  if (sub.status !== 201) fail(`subscribe: ${sub.status} ${JSON.stringify(sub.body)}`);
  const secret = sub.body.secret;
  if (!/^whsec_/.test(secret)) fail('the secret is not a whsec_ secret: ' + secret);

  // 4. officer.xu submits a SITE report in Huaisi (under Hanjiang): COMPLETE at once, one report.completed.
  const reportId = crypto.randomUUID();
  const report = await call('POST', '/v1/reports', await login('officer.xu'), {
    id: reportId, type: 'SITE', unitId: demoId('Huaisi'), capturedAt: new Date().toISOString(),
    location: { lat: 32.4, lon: 119.4, accuracyM: 6, provider: 'gps', mock: false },
    title: 'Webhook interop', body: { observations: ['Seen'] },
  });
  if (report.status !== 201) fail(`report: ${report.status} ${JSON.stringify(report.body)}`);

  // 5. The delivery arrives and verifies with the reference implementation.
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('no webhook within 60 s')), 60000); });
  await Promise.race([arrival, timeout]).finally(() => clearTimeout(timer));
  const d = deliveries[0];
  if (d.path !== '/hook') fail('delivered to ' + d.path);
  const payload = new Webhook(secret).verify(d.body, d.headers);
  if (payload.type !== 'report.completed') fail('type ' + payload.type);
  if (payload.data.reportId !== reportId) fail(`reportId ${payload.data.reportId}, expected ${reportId}`);
  if (typeof payload.timestamp !== 'string') fail('no timestamp in the payload');

  // 6. A tampered body, or another secret, must not verify.
  for (const [label, body, key] of [['tampered body', d.body.replace(reportId, crypto.randomUUID()), secret],
    ['other secret', d.body, 'whsec_' + crypto.randomBytes(32).toString('base64')]]) {
    try {
      new Webhook(key).verify(body, d.headers);
      fail(label + ' verified');
    } catch (e) {
      if (!(e instanceof WebhookVerificationError)) throw e;
    }
  }
  console.log(`webhook-interop: OK: ${d.headers['webhook-id']} (report.completed of ${reportId}) verified with standardwebhooks`);
} catch (e) {
  fail(e && e.stack ? e.stack : String(e));
} finally {
  receiver.close();
}
