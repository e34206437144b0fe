#!/usr/bin/python3
"""The DESIGN §6 configurations in PyTorch, timed the way bench/Dsl.Benchmarks times Dsl (median of
repeated runs after a warm-up), printed as JSON lines with the same names. Run through
bench/compare.sh, which sets OMP_WAIT_POLICY=PASSIVE and the thread count before torch starts.

PyTorch at its best here needs OpenBLAS (apt-get install libopenblas0-pthread): Debian's
python3-torch otherwise links the reference BLAS and is many times slower. The script prints
which BLAS library it actually loaded.
"""
import argparse
import json
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def loaded_blas():
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line.lower() or "mkl" in line.lower()}
    return sorted(p for p in libs if p.startswith("/"))


def median_ms(fn, seconds=1.0, min_runs=5, max_runs=100_000):
    # The same protocol as bench/Dsl.Benchmarks: half a second of warm-up (at least 3 runs), then about a second of runs.
    warm, runs = time.perf_counter(), 0
    while runs < 3 or time.perf_counter() - warm < 0.5:
        fn()
        runs += 1
    times, start = [], time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < seconds and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def recurrent_flops(gates, T, B, X, H):
    return 2.0 * T * B * gates * H * (X + H)


ONLY = None  # --only TEXT: the workloads whose name contains TEXT


def report(name, fn, flops):
    if ONLY is not None and ONLY not in name:
        return
    ms = median_ms(fn)
    print(json.dumps({"name": name, "ms": round(ms, 4), "gflops": round(flops / ms / 1e6, 2)}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--only", default=None, help="time the workloads whose name contains this text")
    args = parser.parse_args()
    global ONLY
    ONLY = args.only
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    print(json.dumps({"info": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
                      "blas": loaded_blas(), "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")}), flush=True)

    for (T, B, X, H) in [(64, 1, 256, 256), (64, 32, 256, 256), (128, 64, 512, 512)]:
        for kind, cls, gates in [("lstm", nn.LSTM, 4), ("gru", nn.GRU, 3), ("rnn", nn.RNN, 1)]:
            model = cls(X, H, batch_first=True)
            x = torch.randn(B, T, X)
            target = torch.zeros(B, T, H)
            shape = f"T={T} B={B} X={X} H={H}"
            forward = recurrent_flops(gates, T, B, X, H)

            def infer():
                with torch.no_grad():
                    model(x)

            report(f"{kind} forward {shape}", infer, forward)
            if B == 1:
                continue

            def train():
                model.zero_grad(set_to_none=False)
                out, _ = model(x)
                F.mse_loss(out, target).backward()

            report(f"{kind} forward+backward {shape}", train, 3 * forward)

    # Self-attention: nn.MultiheadAttention(256, 8) with query = key = value; T = 64, B = 32.
    T, B, E, heads = 64, 32, 256, 8
    attention = nn.MultiheadAttention(E, heads, batch_first=True)
    x, target = torch.randn(B, T, E), torch.zeros(B, T, E)
    forward = 2.0 * 4 * T * B * E * E + 2.0 * 2 * B * heads * T * T * (E // heads)
    shape = f"T={T} B={B} E={E} heads={heads}"

    def attend():
        with torch.no_grad():
            attention(x, x, x, need_weights=False)

    def attend_train():
        attention.zero_grad(set_to_none=False)
        out, _ = attention(x, x, x, need_weights=False)
        F.mse_loss(out, target).backward()

    report(f"attention forward {shape}", attend, forward)
    report(f"attention forward+backward {shape}", attend_train, 3 * forward)

    # The character model: embedding 65 -> 128, LSTM 256, Linear 65, Adam; T = 100, B = 32.
    emb, lstm, dense = nn.Embedding(65, 128), nn.LSTM(128, 256, batch_first=True), nn.Linear(256, 65)
    params = list(emb.parameters()) + list(lstm.parameters()) + list(dense.parameters())
    adam = torch.optim.Adam(params, lr=1e-3)
    tokens, targets = torch.randint(0, 65, (32, 100)), torch.randint(0, 65, (32, 100))

    def step():
        adam.zero_grad(set_to_none=False)
        out, _ = lstm(emb(tokens))
        F.cross_entropy(dense(out).reshape(-1, 65), targets.reshape(-1)).backward()
        adam.step()

    char_flops = 3 * (recurrent_flops(4, 100, 32, 128, 256) + 2.0 * 100 * 32 * 65 * 256)
    report("char model training step T=100 B=32 (Adam)", step, char_flops)

    state = (torch.zeros(1, 1, 256), torch.zeros(1, 1, 256))
    token = torch.tensor([[3]])

    def generate():
        nonlocal state
        with torch.no_grad():
            out, state = lstm(emb(token), state)
            dense(out)

    report("char model generation step B=1", generate, recurrent_flops(4, 1, 1, 128, 256) + 2.0 * 65 * 256)

    # Decoding 128 tokens with bench/Dsl.Benchmarks' GptBench: embedding 65 -> 128, sinusoidal positions, causal
    # nn.MultiheadAttention(128, 4), residual, LayerNorm, Linear(128, 512) ReLU, Linear(512, 128), residual, LayerNorm,
    # Linear(128, 65); batch 1. "cached": step by step from a key/value cache (PyTorch 1.13 has none built in: the step
    # below is the usual hand-written one); "recomputed": a forward over the whole prefix for every new token.
    V, E, heads, T = 65, 128, 4, 128
    hd = E // heads
    gpt_emb, gpt_att = nn.Embedding(V, E), nn.MultiheadAttention(E, heads, batch_first=True)
    ln1, ln2, up, down, head = nn.LayerNorm(E), nn.LayerNorm(E), nn.Linear(E, 4 * E), nn.Linear(4 * E, E), nn.Linear(E, V)
    position = torch.arange(T, dtype=torch.float64)[:, None]
    frequency = torch.exp(-(torch.arange(E) // 2 * 2).double() * torch.log(torch.tensor(10000.0, dtype=torch.float64)) / E)
    pe = torch.where(torch.arange(E) % 2 == 0, torch.sin(position * frequency), torch.cos(position * frequency)).float()
    prefix = torch.randint(0, V, (1, T))
    cache_k, cache_v = torch.zeros(T, E), torch.zeros(T, E)

    def block(x, attended):
        h1 = ln1(x + gpt_att.out_proj(attended))
        return head(ln2(h1 + down(F.relu(up(h1)))))

    def decode_cached():
        with torch.no_grad():
            for t in range(T):
                x = gpt_emb(prefix[:, t]) + pe[t]                                     # [1, E]
                q, k, v = F.linear(x, gpt_att.in_proj_weight, gpt_att.in_proj_bias).split(E, dim=-1)
                cache_k[t], cache_v[t] = k[0], v[0]
                keys = cache_k[:t + 1].view(t + 1, heads, hd).transpose(0, 1)          # [heads, t + 1, hd]
                values = cache_v[:t + 1].view(t + 1, heads, hd).transpose(0, 1)
                weights = torch.softmax(q.view(heads, 1, hd) @ keys.transpose(1, 2) / hd ** 0.5, dim=-1)
                block(x, (weights @ values).reshape(1, E))

    def decode_recomputed():
        with torch.no_grad():
            for t in range(1, T + 1):
                x = gpt_emb(prefix[:, :t]) + pe[:t]
                mask = torch.triu(torch.full((t, t), float("-inf")), 1)
                attended, _ = gpt_att(x, x, x, attn_mask=mask, need_weights=False)
                h1 = ln1(x + attended)
                head(ln2(h1 + down(F.relu(up(h1)))))

    def block_flops(t):
        return 2.0 * t * (E * 3 * E + E * E + 2 * E * 4 * E + E * V) + 4.0 * t * t * E

    report("transformer decoding 128 tokens B=1, cached", decode_cached, block_flops(T))
    report("transformer decoding 128 tokens B=1, recomputed", decode_recomputed, sum(block_flops(t) for t in range(1, T + 1)))

    # Training the same block on 32 sequences of 128 tokens: causal, cross-entropy on every position, Adam.
    B = 32
    gpt_params = [p for m in (gpt_emb, gpt_att, ln1, ln2, up, down, head) for p in m.parameters()]
    gpt_adam = torch.optim.Adam(gpt_params, lr=1e-3)
    gpt_tokens, gpt_targets = torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))
    causal = torch.triu(torch.full((T, T), float("-inf")), 1)

    def gpt_step():
        gpt_adam.zero_grad(set_to_none=False)
        x = gpt_emb(gpt_tokens) + pe
        attended, _ = gpt_att(x, x, x, attn_mask=causal, need_weights=False)
        h1 = ln1(x + attended)
        logits = head(ln2(h1 + down(F.relu(up(h1)))))
        F.cross_entropy(logits.reshape(-1, V), gpt_targets.reshape(-1)).backward()
        gpt_adam.step()

    report("transformer training step T=128 B=32 (Adam)", gpt_step, 3 * B * block_flops(T))

    # The block as LLaMA builds it (bench/Dsl.Benchmarks' LlamaBench): RMS norm (torch 1.13 has no nn.RMSNorm: LLaMA's own
    # x * rsqrt(mean(x^2) + eps) * weight), rotary positions (Hugging Face's rotate_half) on attention without biases, a SwiGLU
    # feed-forward of 344 (value and gate as one Linear), no biases; AdamW.
    F_ = 344
    qkv_proj, out_proj = nn.Linear(E, 3 * E, bias=False), nn.Linear(E, E, bias=False)
    gate_up, down_l, head_l = nn.Linear(E, 2 * F_, bias=False), nn.Linear(F_, E, bias=False), nn.Linear(E, V, bias=False)
    norms = [nn.Parameter(torch.ones(E)) for _ in range(3)]
    llama_emb = nn.Embedding(V, E)
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    angles = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
    rope_cos, rope_sin = torch.cat([angles, angles], -1).cos().float(), torch.cat([angles, angles], -1).sin().float()

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w

    def rotate(t):
        return t * rope_cos + torch.cat([-t[..., hd // 2:], t[..., :hd // 2]], -1) * rope_sin

    def rope_attention(x, qkv, out, norm):
        """x + the block's attention: the norm, q, k and v in one Linear, rotated queries and keys, causal scores, out."""
        q, k, v = qkv(rms(x, norm)).split(E, dim=-1)
        q, k, v = [t.view(B, T, heads, hd).transpose(1, 2) for t in (q, k, v)]
        scores = rotate(q) @ rotate(k).transpose(-1, -2) / hd ** 0.5 + causal
        return x + out((scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, E))

    llama_params = [p for m in (llama_emb, qkv_proj, out_proj, gate_up, down_l, head_l) for p in m.parameters()] + norms
    llama_adam = torch.optim.AdamW(llama_params, lr=1e-3, weight_decay=0.1)

    def llama_step():
        llama_adam.zero_grad(set_to_none=False)
        x = rope_attention(llama_emb(gpt_tokens), qkv_proj, out_proj, norms[0])
        value, gate = gate_up(rms(x, norms[1])).chunk(2, dim=-1)
        x = x + down_l(value * F.silu(gate))
        logits = head_l(rms(x, norms[2]))
        F.cross_entropy(logits.reshape(-1, V), gpt_targets.reshape(-1)).backward()
        llama_adam.step()

    def llama_flops(t):
        return 2.0 * t * (E * 3 * E + E * E + 3 * E * F_ + E * V) + 4.0 * t * t * E

    report("llama training step T=128 B=32 (AdamW)", llama_step, 3 * B * llama_flops(T))

    # The same block with a sparse mixture of experts in place of the feed-forward (bench/Dsl.Benchmarks' MoeBench), as Hugging
    # Face's Mixtral computes it: the router's softmax, each token's top 2 of 8 experts renormalised, each expert (a SwiGLU of
    # 344) over its own tokens, index_add_ back; AdamW.
    X_, K_ = 8, 2
    moe_emb = nn.Embedding(V, E)
    moe_qkv, moe_out = nn.Linear(E, 3 * E, bias=False), nn.Linear(E, E, bias=False)
    router, moe_head = nn.Linear(E, X_, bias=False), nn.Linear(E, V, bias=False)
    experts_in = nn.ModuleList([nn.Linear(E, 2 * F_, bias=False) for _ in range(X_)])
    experts_out = nn.ModuleList([nn.Linear(F_, E, bias=False) for _ in range(X_)])
    moe_norms = [nn.Parameter(torch.ones(E)) for _ in range(3)]
    moe_params = [p for m in (moe_emb, moe_qkv, moe_out, router, moe_head, experts_in, experts_out) for p in m.parameters()] + moe_norms
    moe_adam = torch.optim.AdamW(moe_params, lr=1e-3, weight_decay=0.1)

    def mixture(h):  # [n, E]: the chosen experts' weighted sum
        weights, chosen = torch.topk(F.softmax(router(h), dim=-1), K_, dim=-1)
        weights = weights / weights.sum(dim=-1, keepdim=True)
        mixed = torch.zeros_like(h)
        for e in range(X_):
            rows, slot = torch.where(chosen == e)
            value, gate = experts_in[e](h[rows]).chunk(2, dim=-1)
            mixed.index_add_(0, rows, experts_out[e](value * F.silu(gate)) * weights[rows, slot, None])
        return mixed

    def moe_logits():
        x = rope_attention(moe_emb(gpt_tokens), moe_qkv, moe_out, moe_norms[0])
        x = x + mixture(rms(x, moe_norms[1]).reshape(-1, E)).view(B, T, E)
        return moe_head(rms(x, moe_norms[2]))

    def moe_step():
        moe_adam.zero_grad(set_to_none=False)
        F.cross_entropy(moe_logits().reshape(-1, V), gpt_targets.reshape(-1)).backward()
        moe_adam.step()

    def moe_forward():
        with torch.no_grad():
            moe_logits()

    def moe_flops(t):
        return 2.0 * t * (E * 3 * E + E * E + K_ * 3 * E * F_ + E * X_ + E * V) + 4.0 * t * t * E

    report("moe training step T=128 B=32 (AdamW, 8 experts, 2 per token)", moe_step, 3 * B * moe_flops(T))
    report("moe forward T=128 B=32 (8 experts, 2 per token)", moe_forward, B * moe_flops(T))

    # 128 tokens of one sequence from a key/value cache written by hand (as decode_cached above): each token's rotated key and
    # its value stored, its query against the keys so far, then the mixture over its one row.
    moe_cache_k, moe_cache_v = torch.zeros(T, E), torch.zeros(T, E)

    def rotate_at(t_, at):
        return t_ * rope_cos[at] + torch.cat([-t_[..., hd // 2:], t_[..., :hd // 2]], -1) * rope_sin[at]

    def moe_decode_cached():
        with torch.no_grad():
            for t in range(T):
                x = moe_emb(prefix[:, t])                                                       # [1, E]
                q, k, v = moe_qkv(rms(x, moe_norms[0])).split(E, dim=-1)
                q = rotate_at(q.view(heads, 1, hd), t)
                moe_cache_k[t], moe_cache_v[t] = rotate_at(k.view(heads, 1, hd), t).reshape(E), v[0]
                keys = moe_cache_k[:t + 1].view(t + 1, heads, hd).transpose(0, 1)               # [heads, t + 1, hd]
                values = moe_cache_v[:t + 1].view(t + 1, heads, hd).transpose(0, 1)
                weights = torch.softmax(q @ keys.transpose(1, 2) / hd ** 0.5, dim=-1)
                x = x + moe_out((weights @ values).reshape(1, E))
                x = x + mixture(rms(x, moe_norms[1]))
                moe_head(rms(x, moe_norms[2]))

    report("moe decoding 128 tokens B=1, cached (8 experts, 2 per token)", moe_decode_cached, moe_flops(T))


if __name__ == "__main__":
    main()
