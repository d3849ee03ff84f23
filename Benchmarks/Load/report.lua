-- wrk script for push reports (issue 17): KIND=crisp posts Crisp status reports (POST /v1/report/web/node-N/, Basic
-- auth) for REPLICAS replicas over NODES nodes round-robin; KIND=metrics posts Kodo-style metric pushes
-- (POST /api/v1/metrics/ingest, the key in the body) for SERVICES services round-robin; KIND=stackstate posts the
-- StackState envelope of a Crisp report (one REPEAT_STATES check state, the same streams) to the intake, for
-- comparison. Reports how many answers were not 200, as post.lua does.
local kind = os.getenv("KIND") or "crisp"
local key = os.getenv("API_KEY") or "bench"
local nodes = tonumber(os.getenv("NODES") or "64")
local replicas = tonumber(os.getenv("REPLICAS") or "4")
local services = tonumber(os.getenv("SERVICES") or "64")
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("index", threads - 1)
end
function init(args)
  counter = (index or 0) * 7919
end
-- base64 of ":" .. key, for the Basic credential.
local function base64(text)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((text:gsub(".", function(c)
    local bits, byte = "", c:byte()
    for i = 8, 1, -1 do bits = bits .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0") end
    return bits
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(bits)
    if #bits < 6 then return "" end
    local value = 0
    for i = 1, 6 do value = value + (bits:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return alphabet:sub(value + 1, value + 1)
  end) .. ({ "", "==", "=" })[#text % 3 + 1])
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if kind == "crisp" then wrk.headers["Authorization"] = "Basic " .. base64(":" .. key) end
request = function()
  counter = counter + 1
  if kind == "crisp" then
    local node = counter % nodes
    local replica = math.floor(counter / nodes) % replicas
    local body = string.format('{"replica_id":"replica-%d","interval":60,"load":{"cpu":0.%d,"ram":0.4}}',
      replica, counter % 100)
    return wrk.format(nil, "/v1/report/web/node-" .. node .. "/", nil, body)
  end
  if kind == "stackstate" then
    local node = counter % nodes
    local replica = math.floor(counter / nodes) % replicas
    local body = string.format('{"collection_timestamp":%d,"health":[{"consistency_model":"REPEAT_STATES",'
      .. '"stream":{"urn":"urn:health:reporter:web","sub_stream_id":"node-%d"},'
      .. '"expiry":{"repeat_interval_s":60,"expiry_interval_s":86400},"check_states":[{"checkStateId":"replica-%d",'
      .. '"name":"replica %d","health":"CLEAR","topologyElementIdentifier":"urn:reporter:web:node-%d:replica-%d"}]}]}',
      os.time(), node, replica, replica, node, replica)
    return wrk.format(nil, "/receiver/stsAgent/intake?api_key=" .. key, nil, body)
  end
  local body = string.format(
    '{"api_key":"%s","service":"Service %d","metrics":{"error_rate":0.5,"response_time_ms":%d,"cpu_percent":40,"memory_percent":50}}',
    key, counter % services, 100 + counter % 50)
  return wrk.format(nil, "/api/v1/metrics/ingest", nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.3f non_2xx=%d socket_errors=%d p50_ms=%.1f p99_ms=%.1f\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
