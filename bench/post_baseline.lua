-- POST the bare one-INSERT baseline view (routed only by config.settings.bench: config/urls_bench.py).
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
require("common")

function init(args)
  bench_init()
end

function request()
  return wrk.format("POST", "/bench/baseline-insert", { ["X-Forwarded-For"] = random_ip() }, "")
end
