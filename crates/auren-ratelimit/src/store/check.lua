-- GCRA check for one key, atomic. Time comes from the server, so instances with skewed
-- clocks agree.
--
-- KEYS[1]  the key's state: the string "<tat> <limit>", tat = theoretical arrival time
--          in µs since the epoch, limit = the limit of the last admitted request
-- ARGV[1]  emission interval in µs
-- ARGV[2]  burst tolerance in µs (limit x interval)
-- ARGV[3]  the limit, kept for the admin listing
-- returns  {1, debt} when admitted, {0, debt} when not; debt = TAT - now in µs
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])

local tat = now
local state = redis.call('GET', KEYS[1])
if state then
  local stored = tonumber(string.match(state, '^(%d+)'))
  if stored and stored > now then
    tat = stored
  end
end

local new_tat = tat + interval
if new_tat - now > tolerance then
  return {0, tat - now}
end

-- The key lives exactly as long as it carries state, plus a millisecond.
local ttl = math.ceil((new_tat - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%d %d', new_tat, ARGV[3]), 'PX', ttl)
return {1, new_tat - now}
