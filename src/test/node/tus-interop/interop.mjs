// tus interoperability: the reference client (tus-js-client) uploads a 20 MB photo through /v1/uploads of a
// running Frontline, is cut off after ~8 MB, resumes with a new client from the stored upload URL, finishes, and
// the stored object's SHA-256 must equal the file's.
//
//   FRONTLINE_URL=http://127.0.0.1:8080 [FRONTLINE_DATA_DIR=./data] node interop.mjs
//
// With FRONTLINE_DATA_DIR (dev mode's data folder), the stored object is also read back from the in-process S3
// store's folder and hashed. Exit status 0 only when every check holds.
import * as tus from 'tus-js-client';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { demoId, jsonClient } from '../lib/frontline-dev.mjs';

const base = (process.env.FRONTLINE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const dataDir = process.env.FRONTLINE_DATA_DIR;
const json = jsonClient(base);
const SIZE = 20 * 1024 * 1024;
const CUT = 8 * 1024 * 1024;

function fail(message) {
  console.error('tus-interop: FAILED: ' + message);
  process.exit(1);
}

/** A JPEG head (SOI, comment, a 4000x3000 baseline frame header) then random bytes: passes the content rules. */
function photo(size) {
  const comment = Buffer.from('tus-js-client interop', 'ascii');
  const head = Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xfe, 0, comment.length + 2]), comment,
    Buffer.from([0xff, 0xc0, 0, 11, 8, 3000 >> 8, 3000 & 0xff, 4000 >> 8, 4000 & 0xff, 1, 1, 0x11, 0]),
  ]);
  const out = crypto.randomBytes(size);
  head.copy(out, 0);
  return out;
}

async function uploadOffset(url, token) {
  const r = await fetch(url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', Authorization: 'Bearer ' + token } });
  return r.status === 200 ? Number(r.headers.get('Upload-Offset')) : -r.status;
}

const login = await json('POST', '/v1/auth/login', null, { username: 'officer.xu', password: 'frontline-dev' });
if (login.status !== 200) fail('login: ' + login.status + ' ' + JSON.stringify(login.body));
const token = login.body.access_token;

const file = photo(SIZE);
const sha256 = crypto.createHash('sha256').update(file).digest('hex');
const reportId = crypto.randomUUID();
const attachmentId = crypto.randomUUID();
const created = await json('POST', '/v1/reports', token, {
  id: reportId, type: 'SITE', unitId: demoId('Huaisi'), capturedAt: new Date().toISOString(),
  location: { lat: 32.45, lon: 119.43, accuracyM: 8.5, provider: 'gps', mock: false },
  title: 'tus interop', text: 'A 20 MB photo, cut off and resumed',
  body: { observations: ['interop'] },
  attachments: [{ id: attachmentId, sha256, size: SIZE, contentType: 'image/jpeg', filename: 'IMG_0001.jpg' }],
});
if (created.status !== 201) fail('POST /v1/reports: ' + created.status + ' ' + JSON.stringify(created.body));

const options = {
  endpoint: base + '/v1/uploads',
  headers: { Authorization: 'Bearer ' + token },
  metadata: { reportId, attachmentId, filename: 'IMG_0001.jpg', filetype: 'image/jpeg' },
  uploadSize: SIZE,
};

// First client: cut off once ~8 MB have been sent.
const uploadUrl = await new Promise((resolve, reject) => {
  let cut = false;
  const upload = new tus.Upload(file, {
    ...options,
    retryDelays: [],
    onProgress(sent) {
      if (!cut && sent >= CUT) {
        cut = true;
        upload.abort().then(() => resolve(upload.url), reject);
      }
    },
    onError: reject,
    onSuccess: () => reject(new Error('the first client finished before it was cut off')),
  });
  upload.start();
}).catch((e) => fail('first client: ' + e));
console.log(`tus-interop: cut off after ~${CUT} bytes sent; upload ${uploadUrl}`);

// The server notices the dropped connection and keeps what it received (its full 5 MiB parts in the store, the
// rest on the upload's row). That takes a moment, longer on a loaded machine (a part still being written to the
// store): wait until the offset has moved off 0 and then held still for a second (up to 30 s).
let offset = -1;
let still = 0;
for (let i = 0; i < 120 && !(offset > 0 && still >= 4); i++) {
  await new Promise((r) => setTimeout(r, 250));
  const now = await uploadOffset(uploadUrl, token);
  still = now === offset ? still + 1 : 0;
  offset = now;
}
if (!(offset > 0 && offset < SIZE)) fail('offset after the cut is ' + offset + ', expected between 0 and ' + SIZE);
console.log(`tus-interop: the server kept ${offset} bytes`);

// Second client: a new Upload resuming from the stored URL (HEAD, then PATCH from the server's offset).
let resumedFrom = null;
await new Promise((resolve, reject) => {
  const upload = new tus.Upload(file, {
    ...options,
    uploadUrl,
    retryDelays: [0, 500, 1000, 2000, 4000],
    onProgress(sent) {
      if (resumedFrom === null) resumedFrom = sent;
    },
    onError: reject,
    onSuccess: resolve,
  });
  upload.start();
}).catch((e) => fail('resuming client: ' + e));
console.log(`tus-interop: resumed (first progress at ${resumedFrom} bytes) and finished`);

const report = await json('GET', '/v1/reports/' + reportId, token);
if (report.status !== 200) fail('GET report: ' + report.status);
const att = report.body.attachments.find((a) => a.id === attachmentId);
if (report.body.status !== 'COMPLETE' || att?.status !== 'STORED') {
  fail('report ' + report.body.status + ', attachment ' + att?.status + ': expected COMPLETE and STORED');
}
// STORED means the server's own SHA-256 over the received stream equalled the manifest's, which is the file's.
if (att.sha256 !== undefined && att.sha256 !== sha256) fail('attachment sha256 ' + att.sha256 + ' != ' + sha256);

if (dataDir) {
  const objects = path.join(dataDir, 'objects');
  const found = [];
  for (const bucket of fs.readdirSync(objects)) {
    const dir = path.join(objects, bucket, 'reports', reportId, attachmentId);
    if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) found.push(path.join(dir, f));
  }
  if (found.length !== 1) fail('expected one stored object, found ' + JSON.stringify(found));
  const stored = crypto.createHash('sha256').update(fs.readFileSync(found[0])).digest('hex');
  if (stored !== sha256) fail(`stored object's SHA-256 ${stored} != file's ${sha256}`);
  console.log(`tus-interop: stored object ${path.relative(dataDir, found[0])} has the file's SHA-256`);
}
console.log(`tus-interop: OK (${SIZE} bytes, sha256 ${sha256})`);
