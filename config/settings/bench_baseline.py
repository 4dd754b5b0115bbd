"""The benchmark's in-run baseline route."""

from config.env import env

# Mounts the bare one-INSERT view that bench/run.py uses as its in-run baseline. Never set it
# in a real deployment: the route exists only for the benchmark's own throwaway stack.
BENCH_BASELINE_VIEW = env.bool("BENCH_BASELINE_VIEW", default=False)
