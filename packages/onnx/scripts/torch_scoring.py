#!/usr/bin/python3
"""Scoring (inference) throughput of the seed's energy model in PyTorch on the CPU, for the
@anomalia/onnx benchmark. shared/reference/torch_throughput.py times training; this times what
a monitor does: MosaiqEBM (D -> [128, 64, 32], Linear -> LayerNorm -> ReLU -> Dropout each, then
Linear -> 1) in eval mode under torch.no_grad(), on seeded standard-normal rows. Each batch size
is timed for at least --seconds after one warm-up call; one JSON line per batch size.

Needs Debian's python3-torch; run with /usr/bin/python3.
Usage: torch_scoring.py [--d D] [--batches 1,32,100000] [--seconds S] [--threads T]"""
import argparse
import json
import time

import torch
import torch.nn as nn


def mosaiq_ebm(d, hidden=(128, 64, 32), dropout=0.2):
    layers, prev = [], d
    for h in hidden:
        layers += [nn.Linear(prev, h), nn.LayerNorm(h), nn.ReLU(), nn.Dropout(dropout)]
        prev = h
    layers.append(nn.Linear(prev, 1))
    return nn.Sequential(*layers)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--d", type=int, default=74)
    p.add_argument("--batches", default="1,32,100000")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    model = mosaiq_ebm(a.d).eval()
    for batch in (int(b) for b in a.batches.split(",")):
        x = torch.randn(batch, a.d)
        with torch.no_grad():
            model(x)
            calls, start = 0, time.perf_counter()
            while True:
                model(x).squeeze(-1).numpy()
                calls += 1
                elapsed = time.perf_counter() - start
                if elapsed >= a.seconds and calls >= 3:
                    break
        print(json.dumps({"impl": f"pytorch {torch.__version__}", "batch": batch, "n": batch * calls,
                          "d": a.d, "threads": a.threads, "seconds": elapsed,
                          "rows_per_s": batch * calls / elapsed}), flush=True)


if __name__ == "__main__":
    main()
