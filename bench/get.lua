-- GET one path (BENCH_PATH), optionally as a user (BENCH_TOKEN), from random client IPs.
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
require("common")

local path, token

function init(args)
  bench_init()
  path = os.getenv("BENCH_PATH")
  token = os.getenv("BENCH_TOKEN")
end

function request()
  local headers = { ["X-Forwarded-For"] = random_ip(), ["Accept"] = "application/json" }
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  return wrk.format("GET", path, headers)
end
