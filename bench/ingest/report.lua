-- wrk script: authenticated POST /v1/reports, a SITE envelope of about 1 KB in Huaisi town, a fresh id per request.
-- Environment: BENCH_TOKEN (bearer token), BENCH_TEMPLATE (file of the envelope, ID in place of its id),
-- BENCH_RUN (8 hex digits, unique per wrk run).
local token = os.getenv("BENCH_TOKEN")
local run = os.getenv("BENCH_RUN")
local threads = {}
-- globals, so that wrk's thread:set/get reach them
counter = 0
thread_no = 0
created, other = 0, 0

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

-- The envelope, built by run.sh, with ID where each request puts its fresh id.
local f = assert(io.open(os.getenv("BENCH_TEMPLATE")))
local template = f:read("*a")
f:close()
local at = template:find('"ID"', 1, true)
local head, tail = template:sub(1, at), template:sub(at + 3)

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  local id = string.format("%s-%04x-4%03x-8%03x-%012x", run, thread_no, 0, 0, counter)
  return wrk.format(nil, "/v1/reports", nil, head .. id .. tail)
end

function response(status, headers, body)
  if status == 201 then created = created + 1 else
    other = other + 1
    if other <= 3 then io.stderr:write("unexpected " .. status .. ": " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    o = o + t:get("other")
  end
  io.write(string.format("RESULT created=%d other=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    c, o, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
