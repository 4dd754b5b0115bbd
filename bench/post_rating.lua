-- POST /api/v1/ratings/ as many customers, each request a (customer, provider) pair that has
-- never been rated. BENCH_TOKENS has one access JWT per line; BENCH_PAIRS has
-- "<token line> <provider uuid>" per line. Thread t takes lines t, t+n, t+2n… so threads
-- never share a pair; past the end of the file a pair repeats and shows up as 409 errors.
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
require("common")

local tokens, pairs_ = {}, {}
local cursor

function init(args)
  bench_init()
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    table.insert(tokens, line)
  end
  local n = 0
  for line in io.lines(os.getenv("BENCH_PAIRS")) do
    if n % nthreads == tid then
      local ti, provider = line:match("^(%d+) (%S+)$")
      table.insert(pairs_, { tokens[tonumber(ti)], provider })
    end
    n = n + 1
  end
  cursor = 0
end

function request()
  cursor = cursor % #pairs_ + 1
  local pair = pairs_[cursor]
  local body = string.format('{"provider_id":"%s","score":%d,"comment":"bench"}', pair[2], math.random(1, 5))
  return wrk.format("POST", "/api/v1/ratings/", {
    ["Authorization"] = "Bearer " .. pair[1],
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["X-Forwarded-For"] = random_ip(),
  }, body)
end
