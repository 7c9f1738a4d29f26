-- portcullis admit v1: check and take, all-or-nothing, every bucket, parallel cap and budget
-- reservation of one admission. All KEYS share one hash tag (one Redis Cluster slot).
-- Time is Redis server time. A token is 60000 units, so R tokens/minute refill R units/ms.
--
-- KEYS: nb bucket hashes {l = level units, t = ms}; nc cap zsets {request id -> lease end};
--       per budget: a hash {spent, reserved, r:<id> = amount} and a zset {request id -> lease end}.
-- ARGV: request id, lease ms, nb, nc, nbud, then per bucket: capacity, refill/min, take;
--       per cap: max; per budget: limit, amount, expire-at ms (unix).
-- Returns {1, remaining_1, reset_ms_1, ...} or {0, index of the refusing KEY, retry ms or -1}.
local U = 60000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local lease = tonumber(ARGV[2])
local nb, nc, nbud = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function int(x) return string.format('%.0f', x) end
local function extend(k, ms)
  if redis.call('PTTL', k) < ms then redis.call('PEXPIRE', k, int(ms)) end
end

local levels = {}
local a = 6
for i = 1, nb do
  local cap, rate, take = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  local capu = cap * U
  local level = capu
  local st = redis.call('HMGET', KEYS[i], 'l', 't')
  if st[1] then
    local el = now - tonumber(st[2])
    if el < 0 then el = 0 end
    level = math.min(capu, tonumber(st[1]) + el * rate)
  end
  if level < take * U then
    local retry = -1
    if take <= cap and rate > 0 then retry = math.ceil((take * U - level) / rate) end
    return {0, i, retry}
  end
  levels[i] = level
end

for j = 1, nc do
  local k = KEYS[nb + j]
  local max = tonumber(ARGV[a])
  a = a + 1
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  if redis.call('ZCARD', k) >= max then return {0, nb + j, -1} end
end

local budget_args = a
for j = 1, nbud do
  local h, z = KEYS[nb + nc + 2 * j - 1], KEYS[nb + nc + 2 * j]
  local limit, amount = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 3
  -- reclaim the reservations of expired leases (a crashed replica's)
  local gone = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #gone > 0 then
    local freed = 0
    for _, rid in ipairs(gone) do
      local amt = redis.call('HGET', h, 'r:' .. rid)
      if amt then
        freed = freed + tonumber(amt)
        redis.call('HDEL', h, 'r:' .. rid)
      end
    end
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
    if freed > 0 then redis.call('HINCRBY', h, 'reserved', int(-freed)) end
  end
  local st = redis.call('HMGET', h, 'spent', 'reserved')
  local spent, reserved = tonumber(st[1] or '0'), tonumber(st[2] or '0')
  if spent + reserved + amount > limit then return {0, nb + nc + 2 * j - 1, -1} end
end

-- every check passed: take
local out = {1}
a = 6
for i = 1, nb do
  local cap, rate, take = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  local level = levels[i] - take * U
  redis.call('HSET', KEYS[i], 'l', int(level), 't', int(now))
  local reset = 0
  if rate > 0 and level < cap * U then reset = math.ceil((cap * U - level) / rate) end
  local ttl = reset + 1000
  if rate == 0 then ttl = 86400000 end
  redis.call('PEXPIRE', KEYS[i], int(ttl))
  local remaining = 0
  if level > 0 then remaining = math.floor(level / U) end
  out[#out + 1] = remaining
  out[#out + 1] = reset
end
for j = 1, nc do
  local k = KEYS[nb + j]
  redis.call('ZADD', k, int(now + lease), id)
  extend(k, lease + 1000)
end
a = budget_args
for j = 1, nbud do
  local h, z = KEYS[nb + nc + 2 * j - 1], KEYS[nb + nc + 2 * j]
  local amount, expire_at = tonumber(ARGV[a + 1]), ARGV[a + 2]
  a = a + 3
  -- the same request id admitted again replaces its earlier amount (a resent admission)
  local old = tonumber(redis.call('HGET', h, 'r:' .. id) or '0')
  redis.call('HINCRBY', h, 'reserved', int(amount - old))
  redis.call('HSET', h, 'r:' .. id, int(amount))
  redis.call('PEXPIREAT', h, expire_at)
  redis.call('ZADD', z, int(now + lease), id)
  -- the leases live as long as the reservations they reclaim: a zset that expired before the
  -- hash would strand a dead replica's reservation until the period's end
  redis.call('PEXPIREAT', z, expire_at)
end
return out
