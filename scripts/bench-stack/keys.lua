-- wrk script of scripts/bench-stack.sh: each request sends the next key of a pool, so the
-- load is spread over many keys. Every thread reads the pool; thread i of n sends keys
-- i, i + n, i + 2n, ... in turn, so together they cycle through the whole pool.
--
-- Environment:
--   BENCH_KEYS     file of keys, one per line (required)
--   BENCH_PATH     the path requested (default /api/biometrics)
--   BENCH_THREADS  wrk's -t, so the threads share out the pool (default 1)
--   BENCH_COUNT    when set, responses are counted by status and printed after wrk's
--                  summary as `status <code> <count>` lines (this makes wrk read bodies,
--                  so throughput runs leave it unset)
--   BENCH_MAX      with BENCH_COUNT: a thread stops after this many responses and creates
--                  the file BENCH_DONE.<thread>, so the caller knows when to stop wrk
--   BENCH_DONE     the prefix of those files
--   BENCH_DELAY_MS when set, each connection waits this long after a response before its
--                  next request, for a steady load below saturation (latency runs)

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  keys = {}
  for line in io.lines(os.getenv("BENCH_KEYS")) do
    if #line > 0 then
      keys[#keys + 1] = line
    end
  end
  if #keys == 0 then
    error("no keys in " .. os.getenv("BENCH_KEYS"))
  end
  path = os.getenv("BENCH_PATH") or "/api/biometrics"
  stride = tonumber(os.getenv("BENCH_THREADS") or "1")
  cursor = id
  max = tonumber(os.getenv("BENCH_MAX") or "0")
  done_file = (os.getenv("BENCH_DONE") or "/tmp/bench-stack-done") .. "." .. id
  statuses = {}
  responses = 0
end

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function request()
  local key = keys[(cursor % #keys) + 1]
  cursor = cursor + stride
  return wrk.format(nil, path, { ["Authorization"] = "Bearer " .. key })
end

if os.getenv("BENCH_COUNT") then
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    responses = responses + 1
    if max > 0 and responses == max then
      local marker = io.open(done_file, "w")
      if marker then
        marker:close()
      end
      wrk.thread:stop()
    end
  end

  function done(summary, latency, requests)
    local total = {}
    for _, thread in ipairs(threads) do
      local counted = thread:get("statuses") or {}
      for status, count in pairs(counted) do
        total[status] = (total[status] or 0) + count
      end
    end
    for status, count in pairs(total) do
      io.write(string.format("status %d %d\n", status, count))
    end
  end
end
