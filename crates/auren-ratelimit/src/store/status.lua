-- The state of one key, read-only.
--
-- KEYS[1]  the key's state: the string "<tat> <limit>"
-- returns  {debt in µs, limit}, or nil when the key has no state
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local state = redis.call('GET', KEYS[1])
if not state then
  return nil
end
local tat, limit = string.match(state, '^(%d+) (%d+)$')
if not tat then
  return nil
end
return {tonumber(tat) - now, tonumber(limit)}
