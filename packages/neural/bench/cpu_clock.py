#!/usr/bin/python3
"""Runs a PyTorch throughput script (shared/reference/torch_throughput.py, bench/torch_defaults.py)
with time.perf_counter replaced by time.process_time, so the rows_per_s it prints counts the CPU
seconds of the process (all its threads), not wall seconds: on a machine shared with other jobs
that measures the work, not the waiting for a core. Compare with the `cpu_rows_per_s` of
bench/throughput.ts.

Usage: /usr/bin/python3 bench/cpu_clock.py SCRIPT [its arguments...]"""
import runpy
import sys
import time

time.perf_counter = time.process_time
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
