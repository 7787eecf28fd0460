#!/usr/bin/python3
"""Reference values for the batch-norm training step of @anomalia/neural, from PyTorch.

A block Linear(5, 8) -> BatchNorm1d(8) -> ReLU -> dropout mask -> Linear(8, 3), loss = mean
squared error to a target (torch.nn.MSELoss). Written to fixtures/batch-norm-reference.json:
the parameters (weights as [inputs, outputs], as the package stores them), two training batches
with their dropout masks (0 or 1/(1 - p)) and targets, the output and every gradient of the first
batch, the running statistics after each batch (PyTorch: momentum 0.1, unbiased variance), and
the eval-mode output on a third batch. Only forward passes run on the second batch (no optimiser
step), so the parameters are the same throughout.

Needs Debian's python3-torch; run from packages/neural with /usr/bin/python3:
  /usr/bin/python3 scripts/batch-norm-reference.py > fixtures/batch-norm-reference.json
"""
import json

import torch
from torch import nn

torch.manual_seed(20240521)
torch.set_default_dtype(torch.float64)

lin1, bn, lin2 = nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Linear(8, 3)
with torch.no_grad():
    bn.weight.uniform_(0.5, 1.5)
    bn.bias.uniform_(-0.3, 0.3)


def batch(rows, p=0.25):
    x = torch.randn(rows, 5) * 2 + 0.5
    keep = (torch.rand(rows, 8) >= p).double() / (1 - p)
    target = torch.randn(rows, 3)
    return x, keep, target


def forward(x, mask):
    return lin2(torch.relu(bn(lin1(x))) * mask)


x1, m1, t1 = batch(6)
x2, m2, t2 = batch(4)
x3 = torch.randn(5, 5) * 2 + 0.5

params = {
    "W1": lin1.weight.detach().T.tolist(),
    "b1": lin1.bias.detach().tolist(),
    "gamma": bn.weight.detach().tolist(),
    "beta": bn.bias.detach().tolist(),
    "W2": lin2.weight.detach().T.tolist(),
    "b2": lin2.bias.detach().tolist(),
}

bn.train()
out1 = forward(x1, m1)
loss = nn.MSELoss()(out1, t1)
loss.backward()
grads = {
    "W1": lin1.weight.grad.T.tolist(),
    "b1": lin1.bias.grad.tolist(),
    "gamma": bn.weight.grad.tolist(),
    "beta": bn.bias.grad.tolist(),
    "W2": lin2.weight.grad.T.tolist(),
    "b2": lin2.bias.grad.tolist(),
}
running1 = {"mean": bn.running_mean.tolist(), "var": bn.running_var.tolist()}
with torch.no_grad():
    forward(x2, m2)
running2 = {"mean": bn.running_mean.tolist(), "var": bn.running_var.tolist()}
bn.eval()
with torch.no_grad():
    eval3 = lin2(torch.relu(bn(lin1(x3))))

print(json.dumps({
    "source": f"PyTorch {torch.__version__}, scripts/batch-norm-reference.py",
    "momentum": bn.momentum,
    "eps": bn.eps,
    "params": params,
    "batches": [
        {"x": x1.tolist(), "mask": m1.tolist(), "target": t1.tolist()},
        {"x": x2.tolist(), "mask": m2.tolist(), "target": t2.tolist()},
    ],
    "loss": loss.item(),
    "output": out1.tolist(),
    "grads": grads,
    "running": [running1, running2],
    "eval": {"x": x3.tolist(), "output": eval3.tolist()},
}, indent=1))
