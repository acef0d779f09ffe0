-- The request of one wrk run (bench/wrk.mjs sets it in the environment), a check of every answer
-- (status 2xx and exactly WRK_EXPECT as the body) and a one-line JSON summary at the end, which
-- bench/wrk.mjs reads: requests, checked answers, errors, latency percentiles in microseconds.
wrk.method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
if body ~= nil and body ~= "" then wrk.body = body end
local contentType = os.getenv("WRK_CONTENT_TYPE")
if contentType ~= nil and contentType ~= "" then wrk.headers["Content-Type"] = contentType end
local accept = os.getenv("WRK_ACCEPT")
if accept ~= nil and accept ~= "" then wrk.headers["Accept"] = accept end
local expected = os.getenv("WRK_EXPECT")

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, non2xx, mismatches = 0, 0, 0
end

function response(status, headers, answer)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif expected ~= nil and answer ~= expected then
    mismatches = mismatches + 1
  else
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local total = { ok = 0, non2xx = 0, mismatches = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(total) do total[key] = total[key] + thread:get(key) end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_SUMMARY {"requests":%d,"durationMicros":%d,"bytes":%d,"ok":%d,"non2xx":%d,"mismatches":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyMicros":{"mean":%.2f,"stdev":%.2f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes, total.ok, total.non2xx, total.mismatches,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
