-- wrk script: the URL's path with a new query on every request, so each one is a cache miss.
-- The queries start from a random prefix, so a second run against a server that kept the
-- first run's objects misses too (bench/pair-ab.sh's windows, a server not restarted).
local f = io.open("/dev/urandom", "rb")
local bytes = f:read(6)
f:close()
local prefix = bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end)
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, wrk.path .. "?u=" .. prefix .. "-" .. n)
end
