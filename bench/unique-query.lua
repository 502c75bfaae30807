-- wrk script: the URL's path with a new query on every request, so each one is a cache miss.
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, wrk.path .. "?u=" .. n)
end
