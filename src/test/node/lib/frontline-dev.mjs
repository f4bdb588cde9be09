// Helpers for the Node checks and benches that drive a running dev-mode Frontline (Node 18+, no dependencies).
import crypto from 'node:crypto';

/** The demo organisation's ids: UUID v3 (MD5) of "frontline-demo:<name>", as Java's UUID.nameUUIDFromBytes. */
export function demoId(name) {
  const b = crypto.createHash('md5').update('frontline-demo:' + name, 'utf8').digest();
  b[6] = (b[6] & 0x0f) | 0x30;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** JSON calls to the API at {@code base}: json(method, path, bearer token or null, body) -> { status, body }. */
export function jsonClient(base) {
  return async function json(method, url, token, body) {
    const r = await fetch(base + url, {
      method,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: 'Bearer ' + token } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };
}
