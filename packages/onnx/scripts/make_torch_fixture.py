#!/usr/bin/python3
"""Makes fixtures/torch-ebm.onnx and fixtures/torch-ebm.json: a small energy-based model with the
architecture of the seed's MosaiqEBM (input 74 -> [128, 64, 32], each Linear -> LayerNorm -> ReLU
-> Dropout(0.2), then Linear -> 1 energy), trained briefly in PyTorch on seeded synthetic rows (so
LayerNorm's gamma and beta move away from 1 and 0), exported with torch.onnx.export (the
TorchScript exporter, opset 17, dynamic batch axis), and the energies PyTorch gives on a fixed
input. The TypeScript test loads the .onnx with onnxruntime-node and must reproduce them.

Needs Debian's python3-torch and python3-onnx (apt-get install -y python3-torch python3-onnx);
run with /usr/bin/python3 from packages/onnx:  /usr/bin/python3 scripts/make_torch_fixture.py
"""
import json
import pathlib

import onnx
import torch
import torch.nn as nn

D = 74
OPSET = 17
OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures"


class MosaiqEBM(nn.Module):
    """The seed's energy model: Linear -> LayerNorm -> ReLU -> Dropout per hidden size, then Linear -> 1."""

    def __init__(self, input_dim, hidden_dims=(128, 64, 32), dropout=0.2):
        super().__init__()
        layers, prev = [], input_dim
        for h in hidden_dims:
            layers += [nn.Linear(prev, h), nn.LayerNorm(h), nn.ReLU(), nn.Dropout(dropout)]
            prev = h
        layers.append(nn.Linear(prev, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def main():
    torch.manual_seed(0)
    model = MosaiqEBM(D)
    # Seeded synthetic training rows: the target severity (0-3) grows with the first features.
    X = torch.randn(4096, D)
    y = torch.clamp(X[:, :4].abs().sum(1) - 2.0, 0.0, 3.0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-5)
    model.train()
    for step in range(300):
        idx = torch.randint(0, X.shape[0], (64,))
        opt.zero_grad()
        loss = ((model(X[idx]).squeeze(-1) - y[idx]) ** 2).mean()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()

    # The fixed input: 48 seeded rows at several scales (typical, wide, and a few far outliers).
    g = torch.Generator().manual_seed(1)
    rows = torch.randn(48, D, generator=g)
    rows[16:32] *= 3.0
    rows[32:40] *= 25.0
    rows[40:] = rows[40:] * 0.01
    with torch.no_grad():
        energies = model(rows).squeeze(-1)

    onnx_path = OUT / "torch-ebm.onnx"
    torch.onnx.export(
        model,
        rows[:2],
        str(onnx_path),
        opset_version=OPSET,
        input_names=["features"],
        output_names=["energy"],
        dynamic_axes={"features": {0: "N"}, "energy": {0: "N"}},
        do_constant_folding=True,
    )
    exported = onnx.load(str(onnx_path))
    onnx.checker.check_model(exported, full_check=True)

    fixture = {
        "description": "MosaiqEBM (seed 000 architecture) trained 300 steps on seeded synthetic rows, "
        "exported with torch.onnx.export; energies computed by PyTorch in eval mode",
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "opset": OPSET,
        "input_name": "features",
        "output_name": "energy",
        "feature_names": [f"x{j}" for j in range(D)],
        # float32 values printed with 9 significant digits: each reads back as the exact float32.
        "rows": [[float("%.9g" % v) for v in r.tolist()] for r in rows],
        "energies": [float("%.9g" % v) for v in energies.tolist()],
    }
    (OUT / "torch-ebm.json").write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size} bytes) and torch-ebm.json; "
          f"energies {energies.min():.4f} .. {energies.max():.4f}")


if __name__ == "__main__":
    main()
