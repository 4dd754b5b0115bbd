-- Shared by every wrk script: per-thread ids, a JSON summary line, and a random client IP
-- per request (the stack runs with NUM_PROXIES=1), so per-IP throttles see many clients
-- the way they do behind a real proxy instead of one hot key.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function bench_init()
  nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
  math.randomseed(os.time() * 1000 + tid)
end

function random_ip()
  return string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,'
      .. '"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
