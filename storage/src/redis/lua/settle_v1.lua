-- portcullis settle v1: finish one reservation (settle, release, or refund of a refused
-- admission). All KEYS share one hash tag (one Redis Cluster slot). Redis server time.
--
-- KEYS: nb bucket hashes to move by (estimate - actual); nc cap zsets; per budget: its hash
--       and its lease zset (as in admit_v1).
-- ARGV: request id, nb, nc, nbud, cost micro-USD, then per bucket: capacity, refill/min,
--       estimate, actual; per budget: expire-at ms (unix).
-- A bucket may go into debt (negative level); a refund never lifts it above capacity.
-- The cost is added to spent even when the lease had expired: spend is never lost.
local U = 60000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local nb, nc, nbud = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local function int(x) return string.format('%.0f', x) end

local a = 6
for i = 1, nb do
  local cap, rate = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local est, actual = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  a = a + 4
  local capu = cap * U
  local level = capu
  local st = redis.call('HMGET', KEYS[i], 'l', 't')
  if st[1] then
    local el = now - tonumber(st[2])
    if el < 0 then el = 0 end
    level = math.min(capu, tonumber(st[1]) + el * rate)
  end
  level = math.min(capu, level + (est - actual) * U)
  if level < capu then
    redis.call('HSET', KEYS[i], 'l', int(level), 't', int(now))
    local ttl = 86400000
    if rate > 0 then ttl = math.ceil((capu - level) / rate) + 1000 end
    redis.call('PEXPIRE', KEYS[i], int(ttl))
  else
    redis.call('DEL', KEYS[i])
  end
end
for j = 1, nc do
  redis.call('ZREM', KEYS[nb + j], id)
end
for j = 1, nbud do
  local h, z = KEYS[nb + nc + 2 * j - 1], KEYS[nb + nc + 2 * j]
  local expire_at = ARGV[a]
  a = a + 1
  local amt = redis.call('HGET', h, 'r:' .. id)
  if amt then
    redis.call('HINCRBY', h, 'reserved', int(-tonumber(amt)))
    redis.call('HDEL', h, 'r:' .. id)
  end
  redis.call('ZREM', z, id)
  if cost > 0 then
    redis.call('HINCRBY', h, 'spent', int(cost))
    redis.call('PEXPIREAT', h, expire_at)
  end
end
return {1}
