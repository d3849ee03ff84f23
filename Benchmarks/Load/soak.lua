-- wrk script for Benchmarks/soak.sh: every wrk thread has ONE connection (run wrk with -t N -c N and THREADS=N) and
-- owns the streams s with s % THREADS == its index. It posts whole REPEAT_SNAPSHOTS snapshots to its streams
-- round-robin; round r of stream s is a deterministic snapshot (about 80 % of CHECKS check states, which ones
-- moving with r, health and message depending on r), so every post updates, deletes and creates check states.
-- A stream moves to its next round only when its post got a 200, and re-sends the same round otherwise.
--
-- At the end it writes EXPECTED: for every stream the rounds the store may hold (the last acknowledged one and, for
-- the post in flight when wrk stopped, that one too) and the check states of each such round, which soak.sh compares
-- with `healthsync state --format json`. It prints one RESULT line with the counts.
local streams = tonumber(os.getenv("STREAMS") or "1000")
local checks = tonumber(os.getenv("CHECKS") or "20")
local thread_count = tonumber(os.getenv("THREADS") or "8")
local key = os.getenv("API_KEY") or "bench"
local expected_path = os.getenv("EXPECTED")
local prefix = os.getenv("URN_PREFIX") or "urn:health:soak:stream-"
local healths = { "CLEAR", "CLEAR", "DEVIATING", "CLEAR", "CRITICAL" }

-- The check states of round r of stream s: {id, health, message} triples.
function round_states(s, r)
  local out = {}
  for i = 0, checks - 1 do
    if (i + r + s) % 5 ~= 0 then
      out[#out + 1] = { "check-" .. i, healths[(i * 3 + r + s) % 5 + 1], "round " .. r }
    end
  end
  return out
end

function round_body(s, r)
  local parts = {}
  for _, state in ipairs(round_states(s, r)) do
    parts[#parts + 1] = string.format(
      '{"checkStateId":"%s","name":"check %s","health":"%s","topologyElementIdentifier":"element-%d-%s",'
        .. '"message":"%s"}', state[1], state[1], state[2], s, state[1], state[3])
  end
  return string.format(
    '{"events":{},"internalHostname":"soak","metrics":[],"service_checks":[],"topologies":[],"health":[{'
      .. '"stream":{"urn":"%s%d"},"start_snapshot":{"repeat_interval_s":1800},"check_states":[%s],'
      .. '"stop_snapshot":{}}]}', prefix, s, table.concat(parts, ","))
end

-- Main state: hand every thread its index and keep the threads for done().
local next_index = 0
local threads = {}
function setup(thread)
  thread:set("index", next_index)
  next_index = next_index + 1
  threads[#threads + 1] = thread
end

-- Thread state.
function init(args)
  mine = {}
  for s = index, streams - 1, thread_count do mine[#mine + 1] = s end
  acked = {}
  cursor = 0
  inflight_stream = -1
  inflight_round = -1
  non_200 = 0
  answered = 0
end

function request()
  cursor = cursor % #mine + 1
  local s = mine[cursor]
  local r = (acked[s] or -1) + 1
  inflight_stream = s
  inflight_round = r
  return wrk.format("POST", "/receiver/stsAgent/intake?api_key=" .. key,
    { ["Content-Type"] = "application/json" }, round_body(s, r))
end

function response(status, headers, body)
  answered = answered + 1
  if status == 200 then
    acked[inflight_stream] = inflight_round
  else
    non_200 = non_200 + 1
  end
  inflight_stream = -1
end

function done(summary, latency, requests)
  local bad = 0
  local posted = 0
  local out = expected_path and assert(io.open(expected_path, "w"))
  for _, thread in ipairs(threads) do
    local acked_rounds = thread:get("acked")
    local stream_in_flight = thread:get("inflight_stream")
    local round_in_flight = thread:get("inflight_round")
    bad = bad + thread:get("non_200")
    posted = posted + thread:get("answered")
    local candidates = {}
    for s, r in pairs(acked_rounds) do candidates[s] = { r } end
    if stream_in_flight >= 0 then
      candidates[stream_in_flight] = candidates[stream_in_flight] or { -1 }
      table.insert(candidates[stream_in_flight], round_in_flight)
    end
    if out then
      for s, rounds in pairs(candidates) do
        out:write(string.format("stream\t%s%d\t%s\n", prefix, s, table.concat(rounds, ",")))
        for _, r in ipairs(rounds) do
          if r >= 0 then
            for _, state in ipairs(round_states(s, r)) do
              out:write(string.format("state\t%s%d\t%d\t%s\t%s\t%s\n", prefix, s, r, state[1], state[2], state[3]))
            end
          end
        end
      end
    end
  end
  if out then out:close() end
  io.write(string.format(
    "RESULT requests=%d answered=%d seconds=%.3f non_200=%d socket_errors=%d p50_ms=%.1f p99_ms=%.1f\n",
    summary.requests, posted, summary.duration / 1e6, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
