#!/usr/bin/python3
"""Reference training throughput, in PyTorch on the CPU, of the AutoEncoder's and VAE's defaults
as PyOD 3.x builds them (pyod/models/auto_encoder.py, vae.py, utils/torch_utility.py: LinearBlock
= Linear -> (BatchNorm1d) -> activation -> Dropout), for a side-by-side ratio with
`bench/throughput.ts --model ae-default` / `vae-default` on the same machine. The training step is
PyOD's: zero_grad, forward, loss, backward, Adam step (lr 1e-3, L2 weight decay 1e-5).

Models (input dimension D, default 74):
  ae:  D -> 64 -> 32 -> 16 -> 8 -> 16 -> 32 -> 64 (LinearBlocks: BatchNorm1d, ReLU, Dropout 0.2)
       -> Linear -> D; MSELoss. --hidden 64,32 is PyOD's own default.
  vae: D -> [128, 64, 32] (LinearBlocks: ReLU, Dropout 0.2) -> mu, logvar (Linear, 2 each)
       -> z = mu + eps * exp(logvar / 2) -> [32, 64, 128] -> D (identity); MSELoss (+ the KL
       term, which PyOD clamps to [0, capacity = 0]: computed, no gradient).
  --norm none|batch overrides the blocks' batch norm (the ae has it, the vae not).
Data: N rows of standard-normal features (seeded), shuffled mini-batches with drop_last (as PyOD's
DataLoader), 1 warm-up epoch, then EPOCHS timed epochs. Prints one JSON line: rows_per_s over the
timed epochs (rows actually trained on).

Needs Debian's python3-torch (apt-get install -y python3-torch); run with /usr/bin/python3.
Usage: torch_defaults.py MODEL [--n N] [--d D] [--batch B] [--epochs E] [--threads T] [--norm none|batch]
       [--hidden 64,32,16,8]"""
import argparse, json, time
import torch, torch.nn as nn


def block(i, o, bn, dropout, act=True):
    layers = [nn.Linear(i, o)]
    if bn: layers.append(nn.BatchNorm1d(o))
    layers.append(nn.ReLU() if act else nn.Identity())
    if dropout: layers.append(nn.Dropout(dropout))
    return layers


class VAE(nn.Module):
    def __init__(self, d, bn, latent=2):
        super().__init__()
        enc, last = [], d
        for w in [128, 64, 32]:
            enc += block(last, w, bn, 0.2); last = w
        self.enc = nn.Sequential(*enc)
        self.mu, self.logvar = nn.Linear(32, latent), nn.Linear(32, latent)
        dec, last = [], latent
        for w in [32, 64, 128]:
            dec += block(last, w, bn, 0.2); last = w
        dec += block(last, d, False, 0, act=False)
        self.dec = nn.Sequential(*dec)

    def forward(self, x):
        h = self.enc(x); mu, lv = self.mu(h), torch.clamp(self.logvar(h), -30.0, 20.0)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * lv)
        return self.dec(z), mu, lv


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model", choices=["ae", "vae"])
    p.add_argument("--n", type=int, default=10000); p.add_argument("--d", type=int, default=74)
    p.add_argument("--batch", type=int, default=32); p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--norm", choices=["none", "batch"], default=None)
    p.add_argument("--hidden", default="64,32,16,8")
    a = p.parse_args()
    torch.manual_seed(0); torch.set_num_threads(a.threads)
    X = torch.randn(a.n, a.d)
    mse = nn.MSELoss()
    if a.model == "ae":
        bn = a.norm != "none"
        hidden = [int(w) for w in a.hidden.split(",")]
        dims = [a.d] + hidden + hidden[-2::-1]
        layers = []
        for i, o in zip(dims, dims[1:]):
            layers += block(i, o, bn, 0.2)
        m = nn.Sequential(*layers, nn.Linear(dims[-1], a.d))
        def loss(xb): return mse(m(xb), xb)
    else:
        bn = a.norm == "batch"
        m = VAE(a.d, bn)
        def loss(xb):
            r, mu, lv = m(xb)
            kl = torch.mean(-0.5 * torch.sum(1 + lv - mu ** 2 - torch.exp(lv), dim=1), dim=0)
            return mse(r, xb) + 1.0 * torch.clamp(kl, min=0, max=0.0)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, weight_decay=1e-5)
    m.train()
    used = a.n - a.n % a.batch

    def epoch():
        perm = torch.randperm(a.n)
        for i in range(0, used, a.batch):
            xb = X[perm[i:i + a.batch]]
            opt.zero_grad(); l = loss(xb); l.backward(); opt.step()
    epoch()
    t0 = time.perf_counter()
    for _ in range(a.epochs): epoch()
    t = time.perf_counter() - t0
    print(json.dumps({"impl": f"pytorch {torch.__version__}", "model": a.model, "norm": "batch" if bn else "none",
                      "hidden": a.hidden if a.model == "ae" else None,
                      "n": a.n, "d": a.d, "batch": a.batch, "epochs": a.epochs, "threads": a.threads,
                      "seconds": t, "rows_per_s": used * a.epochs / t}))


if __name__ == "__main__":
    main()
