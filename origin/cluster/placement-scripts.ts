/**
 * The Redis directory's Lua scripts: each is one atomic step on the server, so racing directory
 * clients (edges placing the same new room) see one placement. Time is Redis's own clock (TIME), so
 * the clocks of origins and edges do not matter. Key layout and values: directory-keys.ts.
 * The choice of the least-loaded origin in PLACE is least-loaded.ts's, done where the counts are.
 * Scripts touch keys they derive from lease ids, so they need a single Redis (not Redis Cluster).
 */
import { LuaScript } from './lua-script.ts';

/** Helpers every script that needs them starts with. */
const COMMON = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function forget_lease(origins, counts, id)
  redis.call('ZREM', origins, id)
  redis.call('ZREM', counts, id)
end

-- The live leases: their ids and values; entries whose lease expired leave the index and the counts.
local function live_leases(origins, counts, lease_prefix)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', origins, '-inf', now_ms())) do forget_lease(origins, counts, id) end
  local ids = redis.call('ZRANGE', origins, 0, -1)
  local live_ids, values = {}, {}
  if #ids == 0 then return live_ids, values end
  local keys = {}
  for i, id in ipairs(ids) do keys[i] = lease_prefix .. id end
  local got = redis.call('MGET', unpack(keys))
  for i, id in ipairs(ids) do
    if got[i] then
      live_ids[#live_ids + 1] = id
      values[#values + 1] = got[i]
    else
      forget_lease(origins, counts, id)
    end
  end
  return live_ids, values
end

-- The lease id of a room's owner as stored, or nil when absent or malformed.
local function owner_of(room_key)
  local current = redis.call('GET', room_key)
  if not current then return nil end
  local ok, placement = pcall(cjson.decode, current)
  if ok and type(placement) == 'table' and type(placement.owner) == 'string' then return placement.owner end
  return nil
end
`;

/**
 * KEYS: lease, origins, room counts. ARGV: lease id, lease JSON, TTL ms. Writes the lease, its expiry
 * in the index and (if absent) a room count of 0; returns 1 if the lease was still there, 0 if it had
 * lapsed (or Redis came back empty).
 */
export const REFRESH_LEASE = new LuaScript('refresh-lease', `${COMMON}
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[3]), ARGV[1])
redis.call('ZADD', KEYS[3], 'NX', 0, ARGV[1])
return existed
`);

/** KEYS: lease, origins, room counts. ARGV: lease id. Gives a lease up. */
export const LEAVE = new LuaScript('leave', `${COMMON}
redis.call('DEL', KEYS[1])
forget_lease(KEYS[2], KEYS[3], ARGV[1])
return 1
`);

/** KEYS: origins, room counts. ARGV: lease key prefix. Returns [lease JSON, rooms, lease JSON, rooms, ...]. */
export const LIVE_ORIGINS = new LuaScript('live-origins', `${COMMON}
local ids, values = live_leases(KEYS[1], KEYS[2], ARGV[1])
local out = {}
if #ids == 0 then return out end
local rooms = redis.call('ZMSCORE', KEYS[2], unpack(ids))
for i = 1, #ids do
  out[#out + 1] = values[i]
  out[#out + 1] = rooms[i] or '0'
end
return out
`);

/**
 * KEYS: room, origins, room counts. ARGV: lease key prefix, claimant lease id ('' to place on the
 * least-loaded live origin). A room whose owner's lease lives keeps it; otherwise it goes to the
 * claimant (when its lease lives) or the live origin with the fewest rooms (the room counts are a
 * sorted set, so this is its first live member, not a scan of every origin). Returns [owner's lease
 * JSON, its rooms, 1 if placed now else 0], or [] when there is nobody to place it on.
 */
export const PLACE_ROOM = new LuaScript('place-room', `${COMMON}
local room_key, origins, counts = KEYS[1], KEYS[2], KEYS[3]
local lease_prefix, claimant = ARGV[1], ARGV[2]
local owner = owner_of(room_key)
if owner then
  local lease = redis.call('GET', lease_prefix .. owner)
  if lease then return {lease, redis.call('ZSCORE', counts, owner) or '0', 0} end
end
local chosen, chosen_lease
if claimant ~= '' then
  chosen_lease = redis.call('GET', lease_prefix .. claimant)
  if not chosen_lease then return {} end
  chosen = claimant
else
  local now = now_ms()
  while not chosen do
    local first = redis.call('ZRANGE', counts, 0, 0)[1]
    if not first then return {} end
    local expires = tonumber(redis.call('ZSCORE', origins, first) or '0')
    local lease = expires > now and redis.call('GET', lease_prefix .. first)
    if lease then
      chosen, chosen_lease = first, lease
    else
      forget_lease(origins, counts, first)
    end
  end
end
redis.call('SET', room_key, cjson.encode({owner = chosen, placedAt = now_ms()}))
return {chosen_lease, tostring(redis.call('ZINCRBY', counts, 1, chosen)), 1}
`);

/** KEYS: room, room counts. ARGV: lease key prefix. Returns [owner's lease JSON, its rooms] or [] (no live owner). */
export const OWNER_OF = new LuaScript('owner-of', `${COMMON}
local owner = owner_of(KEYS[1])
if not owner then return {} end
local lease = redis.call('GET', ARGV[1] .. owner)
if not lease then return {} end
return {lease, redis.call('ZSCORE', KEYS[2], owner) or '0'}
`);

/** KEYS: room, room counts. ARGV: lease id. Removes the room's placement if that lease owns it. */
export const RELEASE_ROOM = new LuaScript('release-room', `${COMMON}
if owner_of(KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then redis.call('ZINCRBY', KEYS[2], -1, ARGV[1]) end
return 1
`);
