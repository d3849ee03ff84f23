-- wrk script for Benchmarks/serve-load.sh: POSTs the pre-generated intake envelopes of $BODIES (body-$CHECKS-I.json,
-- I = 0 … $COUNT - 1) round-robin to the intake, and reports how many answers were not 200.
local directory = os.getenv("BODIES")
local checks = os.getenv("CHECKS") or "100"
local count = tonumber(os.getenv("COUNT") or "64")
local key = os.getenv("API_KEY") or "bench"
local bodies = {}
for i = 0, count - 1 do
  local file = assert(io.open(directory .. "/body-" .. checks .. "-" .. i .. ".json", "r"))
  bodies[i + 1] = file:read("*a")
  file:close()
end
local counter = 0
-- SPREAD=1: the second of the two wrk threads starts half-way through the streams (STREAMS / 2), so that they post
-- different streams at a time, as independent sources do; by default they start together and often post the same
-- stream a few requests apart, which makes a batch wait for the previous one's commit (Docs/performance.md).
local spread = os.getenv("SPREAD") == "1"
-- STREAMS: how many streams the bodies post to (body I posts stream I % STREAMS); defaults to COUNT.
local streams = tonumber(os.getenv("STREAMS") or count)
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("index", threads - 1)
end
-- OFFSET: where the threads start among the bodies (serve-postgres.sh gives each replica's wrk its own share).
local offset = tonumber(os.getenv("OFFSET") or "0")
function init(args)
  if spread then counter = (index or 0) * math.floor(streams / 2) end
  counter = counter + offset
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  return wrk.format(nil, "/receiver/stsAgent/intake?api_key=" .. key, nil, bodies[(counter % count) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.3f non_2xx=%d socket_errors=%d p50_ms=%.1f p99_ms=%.1f\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
