#!/usr/bin/env python3
"""Train the llmos run's model with PyTorch, from the same initial weights,
on the same token stream, with the same schedule, and write a log.jsonl in
llmos's format, so both loss curves can be compared
(llmos train plot RUNDIR TORCHDIR).

    /usr/bin/python3 docs/train/torch_train.py RUNDIR OUTDIR

RUNDIR is an llmos run directory: its init.gguf gives the initial weights
and shape, its checkpoint.gguf (train.config) the data directory and
hyperparameters. The model is the reference of ../shared/fixtures/train
(make_fixtures.py): Llama, RMSNorm, RoPE on consecutive pairs, grouped-query
attention, SwiGLU, untied head; float32. The data loader repeats llmos's
for one shard and less than one epoch: windows of T+1 tokens read
sequentially, each starting T tokens after the last; validation reads the
first eval_batches·B windows of the val shard every time.
"""

import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_gguf(path):
    """Metadata and F32 tensors of a GGUF v3 file (enough for llmos's own)."""
    buf = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = buf[pos:pos + n].decode("utf-8", "replace")
        pos += n
        return s

    scalars = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(scalars[t])

    assert buf[:4] == b"GGUF", path
    pos = 4
    version, n_tensors, n_kv = take("I"), take("Q"), take("Q")
    assert version == 3
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(take("I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        typ, off = take("I"), take("Q")
        infos.append((name, dims, typ, off))
    align = meta.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    tensors = {}
    for name, dims, typ, off in infos:
        assert typ == 0, "%s: only F32 tensors are read" % name
        n = int(np.prod(dims))
        a = np.frombuffer(buf, dtype="<f4", count=n, offset=base + off)
        tensors[name] = torch.tensor(a.reshape(list(reversed(dims))).copy())
    return meta, tensors


class Model(torch.nn.Module):
    def __init__(self, meta, tensors, T):
        super().__init__()
        g = lambda k: int(meta["llama." + k])
        self.D, self.L, self.H = g("embedding_length"), g("block_count"), g("attention.head_count")
        self.KV, self.hd = g("attention.head_count_kv"), g("attention.key_length")
        self.eps = float(np.float32(meta["llama.attention.layer_norm_rms_epsilon"]).item())
        self.eps = float("%.6g" % self.eps)  # the decimal the f32 was rounded from (1e-5)
        base = float(meta["llama.rope.freq_base"])
        # Parameters in llmos's (GGUF) order and names.
        self.names = list(tensors)
        self.p = torch.nn.ParameterList([torch.nn.Parameter(tensors[n].clone()) for n in self.names])
        self.idx = {n: i for i, n in enumerate(self.names)}
        ang = torch.arange(T)[:, None].double() * (base ** (-torch.arange(0, self.hd, 2).double() / self.hd))
        self.register_buffer("cos", ang.cos().float()[None, :, None, :])
        self.register_buffer("sin", ang.sin().float()[None, :, None, :])
        self.register_buffer("mask", torch.full((T, T), float("-inf")).triu(1))

    def w(self, name):
        return self.p[self.idx[name]]

    def norm(self, x, name):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w(name)

    def forward(self, tokens):
        b, t = tokens.shape
        H, KV, hd = self.H, self.KV, self.hd
        cos, sin = self.cos[:, :t], self.sin[:, :t]

        def rope(z):
            z = z.view(b, t, z.shape[2], hd // 2, 2)
            a, c = z[..., 0], z[..., 1]
            return torch.stack([a * cos - c * sin, a * sin + c * cos], -1).flatten(3)

        x = F.embedding(tokens, self.w("token_embd.weight"))
        for l in range(self.L):
            p = "blk.%d." % l
            h = self.norm(x, p + "attn_norm.weight")
            q = rope((h @ self.w(p + "attn_q.weight").T).view(b, t, H, hd))
            k = rope((h @ self.w(p + "attn_k.weight").T).view(b, t, KV, hd))
            v = (h @ self.w(p + "attn_v.weight").T).view(b, t, KV, hd)
            if H != KV:
                k = k.repeat_interleave(H // KV, dim=2)
                v = v.repeat_interleave(H // KV, dim=2)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            s = (q @ k.transpose(-2, -1)) / math.sqrt(hd) + self.mask[:t, :t]
            o = (F.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(b, t, H * hd)
            x = x + o @ self.w(p + "attn_output.weight").T
            h = self.norm(x, p + "ffn_norm.weight")
            g = h @ self.w(p + "ffn_gate.weight").T
            u = h @ self.w(p + "ffn_up.weight").T
            x = x + (F.silu(g) * u) @ self.w(p + "ffn_down.weight").T
        return self.norm(x, "output_norm.weight") @ self.w("output.weight").T


def shard(path):
    hdr = np.fromfile(path, dtype="<i4", count=256)
    assert hdr[0] == 0x4C4C4D53 and hdr[1] == 1, path
    dt = "<u2" if hdr[3] == 2 else "<u4"
    return np.fromfile(path, dtype=dt, count=int(hdr[2]), offset=1024).astype(np.int64)


def lr_at(step, c, total):
    if c["warmup"] > 0 and step <= c["warmup"]:
        return c["lr"] * step / c["warmup"]
    if step >= total:
        return c["min_lr"]
    prog = (step - c["warmup"]) / (total - c["warmup"])
    return c["min_lr"] + 0.5 * (1 + math.cos(math.pi * prog)) * (c["lr"] - c["min_lr"])


def main():
    run, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    cmeta, _ = read_gguf(os.path.join(run, "checkpoint.gguf"))
    c = json.loads(cmeta["train.config"])
    meta, tensors = read_gguf(os.path.join(run, "init.gguf"))
    B, T, A = c["batch"], c["seq_len"] or int(meta["llama.context_length"]), c["grad_accum"]
    per_step = B * T * A
    total = c["steps"] or -(-c["tokens"] // per_step)
    dmeta = json.load(open(os.path.join(c["data"], "meta.json")))
    assert dmeta["train_shards"] == 1 and dmeta["val_shards"] == 1, "one shard per split only"
    train = shard(os.path.join(c["data"], "train_000000.bin"))
    val = shard(os.path.join(c["data"], "val_000000.bin"))
    assert total * per_step + 1 <= len(train), "the run must stay within one epoch"

    m = Model(meta, tensors, T)
    decay = [p for n, p in zip(m.names, m.p) if p.dim() == 2]
    nodecay = [p for n, p in zip(m.names, m.p) if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=c["lr"], betas=(c["beta1"], c["beta2"]), eps=c["eps"])

    def windows(tokens, start, n):
        idx = start + np.arange(n)[:, None] * T + np.arange(T + 1)[None, :]
        w = torch.from_numpy(tokens[idx])
        return w[:, :-1], w[:, 1:]

    def evaluate():
        m.eval()
        tot, n = 0.0, 0
        with torch.no_grad():
            for i in range(c["eval_batches"]):
                x, y = windows(val, i * B * T, B)
                tot += F.cross_entropy(m(x).reshape(-1, m.p[-1].shape[0]), y.reshape(-1), reduction="sum").item()
                n += y.numel()
        m.train()
        return tot / n

    log = open(os.path.join(out, "log.jsonl"), "w")
    off, began = 0, time.time()
    for step in range(1, total + 1):
        t0 = time.time()
        opt.zero_grad(set_to_none=True)
        loss_sum = 0.0
        for _ in range(A):
            x, y = windows(train, off, B)
            off += B * T
            loss = F.cross_entropy(m(x).reshape(-1, m.p[-1].shape[0]), y.reshape(-1), reduction="sum") / per_step
            loss.backward()
            loss_sum += loss.item()
        norm = torch.nn.utils.clip_grad_norm_(m.parameters(), c["clip"]).item() if c["clip"] > 0 else 0.0
        lr = lr_at(step, c, total)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        dt = time.time() - t0
        rec = dict(kind="train", step=step, tokens=step * per_step, loss=loss_sum, lr=lr, grad_norm=norm,
                   tok_per_s=per_step / dt, elapsed_s=time.time() - began)
        log.write(json.dumps(rec) + "\n")
        if c["eval_batches"] > 0 and (step == total or (c["eval_every"] > 0 and step % c["eval_every"] == 0)):
            v = evaluate()
            log.write(json.dumps(dict(kind="val", step=step, tokens=step * per_step, loss=v,
                                      elapsed_s=time.time() - began)) + "\n")
            print("step %d: train loss %.4f, val loss %.4f (%.0f tok/s)" % (step, loss_sum, v, per_step / dt), flush=True)
        log.flush()


if __name__ == "__main__":
    main()
