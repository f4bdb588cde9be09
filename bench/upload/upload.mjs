// Upload throughput of a running Frontline (dev mode), no dependencies beyond Node 18+.
//
//   node upload.mjs ratio  -> 2 MB photos through tus (POST creation, then one PATCH, as tus-js-client does) at 8
//                             connections, beside presigned S3 PUTs of the same bytes to the same store (dev mode's
//                             in-process S3), alternating rounds; prints both rates and tus/S3.
//   node upload.mjs flood  -> 200 concurrent 10 MB tus uploads; every report must end COMPLETE (the server verified
//                             size and SHA-256) and, with FRONTLINE_DATA_DIR, every stored object is re-hashed.
//
// FRONTLINE_URL (default http://127.0.0.1:8080), FRONTLINE_DATA_DIR (optional). Exit status 0 only if all held.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { demoId, jsonClient } from '../../src/test/node/lib/frontline-dev.mjs';

const base = (process.env.FRONTLINE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const dataDir = process.env.FRONTLINE_DATA_DIR;
const json = jsonClient(base);
const MB = 1024 * 1024;
const mode = process.argv[2] || 'ratio';

function fail(message) {
  console.error('bench/upload: FAILED: ' + message);
  process.exit(1);
}

function photo(size) {
  const head = Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 3000 >> 8, 3000 & 0xff, 4000 >> 8, 4000 & 0xff,
    1, 1, 0x11, 0]);
  const out = crypto.randomBytes(size);
  head.copy(out, 0);
  return out;
}

const login = await json('POST', '/v1/auth/login', null, { username: 'officer.xu', password: 'frontline-dev' });
if (login.status !== 200) fail('login: ' + login.status);
const token = login.body.access_token;
const auth = { Authorization: 'Bearer ' + token };

/** Declares `count` attachments of `bytes` over reports of at most 20; returns [{reportId, attachmentId}]. */
async function declare(count, bytes) {
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  const out = [];
  while (out.length < count) {
    const n = Math.min(20, count - out.length);
    const reportId = crypto.randomUUID();
    const atts = Array.from({ length: n }, (_, i) => ({ id: crypto.randomUUID(), sha256, size: bytes.length,
      contentType: 'image/jpeg', filename: `IMG_${i}.jpg` }));
    const r = await json('POST', '/v1/reports', token, {
      id: reportId, type: 'SITE', unitId: demoId('Huaisi'), capturedAt: new Date().toISOString(),
      location: { lat: 32.45, lon: 119.43, accuracyM: 8.5, provider: 'gps', mock: false },
      title: 'upload bench', body: { observations: ['bench'] }, attachments: atts,
    });
    if (r.status !== 201) fail('POST /v1/reports: ' + r.status + ' ' + JSON.stringify(r.body));
    for (const a of atts) out.push({ reportId, attachmentId: a.id });
  }
  return out;
}

function b64(s) {
  return Buffer.from(s, 'utf8').toString('base64');
}

/** Milliseconds of each tus creation and PATCH (the ratio prints their medians). */
const phases = { creation: [], patch: [] };

/**
 * One photo through tus: creation, then one PATCH with every byte, as tus-js-client does by default; or, with
 * BENCH_TUS=with-upload, the bytes in the creation request itself (tus creation-with-upload, tus-js-client's
 * `uploadDataDuringCreation`), one request per photo.
 */
async function tusUpload(target, bytes) {
  if (process.env.BENCH_TUS === 'with-upload') {
    return tusCreateWithUpload(target, bytes);
  }
  const t0 = performance.now();
  const created = await fetch(base + '/v1/uploads', {
    method: 'POST',
    headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Length': String(bytes.length),
      'Upload-Metadata': `reportId ${b64(target.reportId)},attachmentId ${b64(target.attachmentId)}` },
  });
  await created.arrayBuffer();
  if (created.status !== 201) throw new Error('tus creation: ' + created.status);
  const location = new URL(created.headers.get('Location'), base).toString();
  const t1 = performance.now();
  const patched = await fetch(location, {
    method: 'PATCH',
    headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0',
      'Content-Type': 'application/offset+octet-stream' },
    body: bytes,
  });
  const text = await patched.text();
  phases.creation.push(t1 - t0);
  phases.patch.push(performance.now() - t1);
  if (patched.status !== 204 || patched.headers.get('Upload-Offset') !== String(bytes.length)) {
    throw new Error('tus PATCH: ' + patched.status + ' ' + text);
  }
}

async function tusCreateWithUpload(target, bytes) {
  const t0 = performance.now();
  const created = await fetch(base + '/v1/uploads', {
    method: 'POST',
    headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Length': String(bytes.length),
      'Upload-Metadata': `reportId ${b64(target.reportId)},attachmentId ${b64(target.attachmentId)}`,
      'Content-Type': 'application/offset+octet-stream' },
    body: bytes,
  });
  const text = await created.text();
  phases.creation.push(performance.now() - t0);
  if (created.status !== 201 || created.headers.get('Upload-Offset') !== String(bytes.length)) {
    throw new Error('tus creation-with-upload: ' + created.status + ' ' + text);
  }
}

async function s3Put(url, bytes) {
  const r = await fetch(url, { method: 'PUT', body: bytes });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error('S3 PUT: ' + r.status);
}

/** Runs `jobs` with `connections` workers; returns seconds of wall time. */
async function timed(jobs, connections) {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: connections }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      await job();
    }
  }));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * CPU time (ms) of the server process by thread group (thread names with digits folded), of its child processes
 * (embedded PostgreSQL) and of this Node process, from /proc; needs FRONTLINE_SERVER_PID (run-against-dev.sh sets
 * it). Empty without it or without /proc.
 */
const serverPid = process.env.FRONTLINE_SERVER_PID;
const TICK_MS = 10; // USER_HZ is 100 on Linux

function ticks(statFile) {
  try {
    const stat = fs.readFileSync(statFile, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
      sys: Number(fields[12]) * TICK_MS,
      name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) };
  } catch {
    return null;
  }
}

function cpuSnapshot() {
  const out = new Map();
  const add = (key, ms) => out.set(key, (out.get(key) || 0) + ms);
  const node = process.cpuUsage();
  add('node (this bench)', (node.user + node.system) / 1000);
  add('sys node (this bench)', node.system / 1000);
  if (!serverPid || !fs.existsSync('/proc/' + serverPid)) return out;
  for (const tid of fs.readdirSync(`/proc/${serverPid}/task`)) {
    const t = ticks(`/proc/${serverPid}/task/${tid}/stat`);
    if (t) {
      add('jvm ' + t.name.replace(/[0-9]+/g, '#'), t.cpu);
      add('sys jvm ' + t.name.replace(/[0-9]+/g, '#'), t.sys);
    }
  }
  const parent = new Map();
  const procs = new Map();
  for (const pid of fs.readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d))) {
    const t = ticks(`/proc/${pid}/stat`);
    if (t) { parent.set(pid, String(t.ppid)); procs.set(pid, t); }
  }
  for (const [pid, t] of procs) {
    for (let p = parent.get(pid); p && p !== '0' && p !== '1'; p = parent.get(p)) {
      if (p === serverPid) { add('child ' + t.name, t.cpu); add('sys child ' + t.name, t.sys); break; }
    }
  }
  return out;
}

/** Adds the CPU spent between two snapshots to `into`. */
function addCpu(into, before, after) {
  for (const [key, ms] of after) into.set(key, (into.get(key) || 0) + ms - (before.get(key) || 0));
}

/** Prints CPU ms per photo by group (and the part spent in the kernel), largest first, for groups above 0.2 ms. */
function printCpu(label, cpu, photos) {
  const rows = [...cpu].filter(([k, ms]) => !k.startsWith('sys ') && ms / photos >= 0.2)
    .sort((a, b) => b[1] - a[1]);
  const total = (prefix) => [...cpu].filter(([k]) => k.startsWith(prefix)).reduce((a, [, ms]) => a + ms, 0) / photos;
  console.log(`  CPU ms per photo, ${label}: server JVM ${total('jvm').toFixed(1)}, its child processes `
    + `${total('child').toFixed(1)}, node ${total('node').toFixed(1)}`);
  for (const [key, ms] of rows) {
    console.log(`    ${(ms / photos).toFixed(1).padStart(6)}  ${key.padEnd(26)} (kernel ${((cpu.get('sys ' + key) || 0)
      / photos).toFixed(1)})`);
  }
}

if (mode === 'ratio') {
  const SIZE = 2 * MB;
  const CONNECTIONS = 8;
  const PER_ROUND = Number(process.env.BENCH_PHOTOS || 64);
  const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
  const bytes = photo(SIZE);
  // Warm-up (JIT, connection pools), not counted: tus rounds for BENCH_WARMUP_SECONDS (60 by default, as bench/ingest; the figure
  // wanted is that of a running server: with 64 photos the JIT compilers still took 5-8 ms per tus photo in the
  // measured rounds), or exactly BENCH_WARMUP photos when that is set.
  const warmSeconds = Number(process.env.BENCH_WARMUP_SECONDS || 60);
  const warmStart = Date.now();
  let warmed = 0;
  do {
    const n = process.env.BENCH_WARMUP ? Number(process.env.BENCH_WARMUP) : PER_ROUND;
    const warm = await declare(n, bytes);
    await timed(warm.map((t) => () => tusUpload(t, bytes)), CONNECTIONS);
    warmed += n;
  } while (!process.env.BENCH_WARMUP && Date.now() - warmStart < warmSeconds * 1000);
  console.log(`warm-up: ${warmed} tus photos in ${((Date.now() - warmStart) / 1000).toFixed(1)} s`);
  const tusTargets = await declare(PER_ROUND * ROUNDS, bytes);
  const s3Targets = await declare(PER_ROUND * (ROUNDS + 1), bytes);
  const urls = [];
  for (const t of s3Targets) {
    const r = await json('POST', `/v1/attachments/${t.attachmentId}/upload-url`, token);
    if (r.status !== 200) fail('upload-url: ' + r.status);
    urls.push(r.body.url);
  }
  await timed(urls.splice(0, PER_ROUND).map((u) => () => s3Put(u, bytes)), CONNECTIONS); // S3 warm-up
  let tusSeconds = 0;
  let s3Seconds = 0;
  console.log(`bench/upload ratio: ${ROUNDS} rounds of ${PER_ROUND} photos of ${SIZE} bytes per side, ${CONNECTIONS} connections`);
  const tusCpu = new Map();
  const s3Cpu = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    const c0 = cpuSnapshot();
    const tus = await timed(tusTargets.slice(round * PER_ROUND, (round + 1) * PER_ROUND)
      .map((t) => () => tusUpload(t, bytes)), CONNECTIONS);
    const c1 = cpuSnapshot();
    const s3 = await timed(urls.slice(round * PER_ROUND, (round + 1) * PER_ROUND)
      .map((u) => () => s3Put(u, bytes)), CONNECTIONS);
    const c2 = cpuSnapshot();
    addCpu(tusCpu, c0, c1);
    addCpu(s3Cpu, c1, c2);
    if (serverPid) {
      const per = (a, b, prefix) => [...b].filter(([k]) => k.startsWith(prefix))
        .reduce((sum, [k, ms]) => sum + ms - (a.get(k) || 0), 0) / PER_ROUND;
      console.log(`  round ${round + 1} CPU ms per photo: tus server ${per(c0, c1, 'jvm ').toFixed(1)} (JIT `
        + `${per(c0, c1, 'jvm C# Compiler').toFixed(1)}), S3 PUT server ${per(c1, c2, 'jvm ').toFixed(1)} (JIT `
        + `${per(c1, c2, 'jvm C# Compiler').toFixed(1)})`);
    }
    tusSeconds += tus;
    s3Seconds += s3;
    console.log(`  round ${round + 1}: tus ${(PER_ROUND * SIZE / MB / tus).toFixed(1)} MiB/s, `
      + `S3 PUT ${(PER_ROUND * SIZE / MB / s3).toFixed(1)} MiB/s`);
  }
  const total = PER_ROUND * ROUNDS;
  const tusRate = total / tusSeconds;
  const s3Rate = total / s3Seconds;
  const how = process.env.BENCH_TUS === 'with-upload' ? 'creation-with-upload' : 'POST + PATCH';
  console.log(`tus (${how}, verified, STORED): ${tusRate.toFixed(1)} photos/s = ${(tusRate * SIZE / MB).toFixed(1)} MiB/s`);
  console.log(`direct presigned S3 PUT:              ${s3Rate.toFixed(1)} photos/s = ${(s3Rate * SIZE / MB).toFixed(1)} MiB/s`);
  console.log(`ratio tus / S3: ${(tusRate / s3Rate).toFixed(2)} (target >= 0.90)`);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`tus phases (median ms): creation ${median(phases.creation).toFixed(1)}`
    + (phases.patch.length ? `, PATCH ${median(phases.patch).toFixed(1)}` : ''));
  if (serverPid) {
    printCpu('tus', tusCpu, total);
    printCpu('direct S3 PUT', s3Cpu, total);
  }
  for (const t of tusTargets) {
    const r = await json('GET', '/v1/reports/' + t.reportId, token);
    if (r.body.status !== 'COMPLETE') fail('report ' + t.reportId + ' is ' + r.body.status);
  }
} else if (mode === 'flood') {
  const SIZE = Number(process.env.BENCH_SIZE_MB || 10) * MB;
  const COUNT = Number(process.env.BENCH_COUNT || 200);
  const bytes = photo(SIZE);
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  const targets = await declare(COUNT, bytes);
  const t0 = process.hrtime.bigint();
  const results = await Promise.allSettled(targets.map((t) => tusUpload(t, bytes)));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const failed = results.filter((r) => r.status === 'rejected');
  console.log(`bench/upload flood: ${COUNT} concurrent uploads of ${SIZE} bytes: ${COUNT - failed.length} answered 204 `
    + `in ${seconds.toFixed(1)} s (${(COUNT * SIZE / MB / seconds).toFixed(1)} MiB/s)`);
  for (const f of failed.slice(0, 5)) console.log('  failure: ' + f.reason);
  const reports = [...new Set(targets.map((t) => t.reportId))];
  let stored = 0;
  for (const id of reports) {
    const r = await json('GET', '/v1/reports/' + id, token);
    stored += r.body.attachments.filter((a) => a.status === 'STORED').length;
  }
  console.log(`  attachments STORED (size and SHA-256 verified by the server): ${stored} of ${COUNT}`);
  let verified = null;
  if (dataDir) {
    verified = 0;
    const bucket = path.join(dataDir, 'objects', fs.readdirSync(path.join(dataDir, 'objects'))[0]);
    for (const t of targets) {
      const dir = path.join(bucket, 'reports', t.reportId, t.attachmentId);
      for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
        if (crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex') === sha256) verified++;
      }
    }
    console.log(`  stored objects re-hashed from the store's folder with the file's SHA-256: ${verified} of ${COUNT}`);
  }
  if (failed.length > 0 || stored !== COUNT || (verified !== null && verified !== COUNT)) fail('not all stored');
} else {
  fail('mode must be ratio or flood');
}
