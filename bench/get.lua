-- GET one path (BENCH_PATH), optionally as a user (BENCH_TOKEN) and revalidating an ETag
-- (BENCH_IF_NONE_MATCH: the answer is then 304 without a body), from random client IPs.
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
require("common")

local path, token, etag

function init(args)
  bench_init()
  path = os.getenv("BENCH_PATH")
  token = os.getenv("BENCH_TOKEN")
  etag = os.getenv("BENCH_IF_NONE_MATCH")
end

function request()
  local headers = { ["X-Forwarded-For"] = random_ip(), ["Accept"] = "application/json" }
  if etag and etag ~= "" then
    headers["If-None-Match"] = etag
  end
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  return wrk.format("GET", path, headers)
end
