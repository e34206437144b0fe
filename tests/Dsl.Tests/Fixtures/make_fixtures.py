#!/usr/bin/python3
"""Writes the PyTorch parity fixtures the C# tests read (run with Debian's python3-torch 1.13).

    /usr/bin/python3 tests/Dsl.Tests/Fixtures/make_fixtures.py

For each case it writes two safetensors files:
  <case>.weights.safetensors   the model's state_dict, exactly as a PyTorch user would save it
  <case>.expected.safetensors  input, targets, output, loss and grad.<name> for every parameter

The references are computed in float64 from the float32 weights. The safetensors writer is
written out here (it is a JSON header and raw bytes) so that the script needs only torch.
Each case names the C# model in Models/ParityModels.cs that declares the same stack.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.float16: "F16", torch.bfloat16: "BF16", torch.bool: "BOOL",
          torch.int8: "I8"}


def save_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        # numpy has no bfloat16: 2-byte types are written through their raw bits (little-endian, as safetensors wants).
        data = (t.view(torch.int16) if t.dtype in (torch.float16, torch.bfloat16) else t.to(torch.uint8) if t.dtype == torch.bool else t).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def positional_encoding(T, W, dtype):
    """Vaswani et al.'s sinusoidal table [T, W], computed in float64 and rounded to float32 as Dsl's is."""
    pe = torch.zeros(T, W, dtype=torch.float64)
    position = torch.arange(T, dtype=torch.float64).unsqueeze(1)
    div = torch.exp(torch.arange(0, W, 2, dtype=torch.float64) * (-torch.log(torch.tensor(10000.0, dtype=torch.float64)) / W))
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div[: W // 2])
    return pe.to(torch.float32).to(dtype)


class ChoGRU(nn.Module):
    """GRU with the reset gate applied before the recurrent product (Cho et al. 2014):
    n = tanh(W_in x + b_in + W_hn (r * h) + b_hn), with nn.GRU's parameter names and layout."""

    def __init__(self, input_size, hidden_size, num_layers=1, bidirectional=False):
        super().__init__()
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.dirs = 2 if bidirectional else 1
        ref = nn.GRU(input_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional, batch_first=True)
        for name, p in ref.named_parameters():
            self.register_parameter(name, nn.Parameter(p.detach().clone()))

    def forward(self, x, h0=None):  # x [B, T, X], h0 [L * dirs, B, H]
        H, out, finals = self.hidden_size, x, []
        for l in range(self.num_layers):
            outs = []
            for d in range(self.dirs):
                sfx = f"_l{l}" + ("_reverse" if d == 1 else "")
                w_ih, w_hh = getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)
                b_ih, b_hh = getattr(self, "bias_ih" + sfx), getattr(self, "bias_hh" + sfx)
                h = out.new_zeros(out.shape[0], H) if h0 is None else h0[l * self.dirs + d]
                steps = range(out.shape[1]) if d == 0 else reversed(range(out.shape[1]))
                hs = [None] * out.shape[1]
                for t in steps:
                    gi = out[:, t] @ w_ih.t() + b_ih
                    r = torch.sigmoid(gi[:, :H] + h @ w_hh[:H].t() + b_hh[:H])
                    z = torch.sigmoid(gi[:, H:2 * H] + h @ w_hh[H:2 * H].t() + b_hh[H:2 * H])
                    n = torch.tanh(gi[:, 2 * H:] + (r * h) @ w_hh[2 * H:].t() + b_hh[2 * H:])
                    h = (1 - z) * n + z * h
                    hs[t] = h
                finals.append(h)
                outs.append(torch.stack(hs, dim=1))
            out = torch.cat(outs, dim=2)
        return out, torch.stack(finals)


class PoolAttention(nn.MultiheadAttention):
    """Attention pooling as Dsl's [Attention(Pool = true)]: one learned query (parameter 'query') attends over the sequence."""

    def __init__(self, width, heads, bias=True):
        super().__init__(width, heads, batch_first=True, bias=bias)
        self.query = nn.Parameter(torch.randn(width) * 0.5)

    def pool(self, x, padding=None):
        q = self.query.expand(x.shape[0], 1, x.shape[2])
        out, _ = super().forward(q, x, x, key_padding_mask=padding, need_weights=False)
        return out.squeeze(1)


class ClassicAttention(nn.Module):
    """Dsl's [Attention(Score = General | Additive)] without Over: Luong's general score x·W·k or Bahdanau's additive
    vᵀ tanh(W_q x + b_q + W_k k) over the layer's own steps (output [x; context], optionally causal), or from a learned
    query (pooling: general q·W·k, additive vᵀ tanh(W_k k + b_k); output the context). Keys and values are the input."""

    def __init__(self, width, score, units=0, pool=False):
        super().__init__()
        self.score, self.is_pool = score, pool
        if score == "general":
            if pool:
                self.query = nn.Parameter(torch.randn(width) * 0.5)
            self.weight = nn.Parameter(torch.empty(width, width).uniform_(-width ** -0.5, width ** -0.5))
        else:
            a = units or width
            if not pool:
                self.query = nn.Linear(width, a)
            self.key = nn.Linear(width, a, bias=pool)
            self.v = nn.Linear(a, 1, bias=False)

    def forward(self, x, causal=False, padding=None):
        B, T, E = x.shape
        if self.score == "general":
            q = self.query.expand(B, 1, E) if self.is_pool else x
            scores = q @ (x @ self.weight.t()).transpose(1, 2)
        elif self.is_pool:
            scores = self.v(torch.tanh(self.key(x))).squeeze(-1).unsqueeze(1)
        else:
            scores = self.v(torch.tanh(self.query(x).unsqueeze(2) + self.key(x).unsqueeze(1))).squeeze(-1)
        if padding is not None:
            scores = scores.masked_fill(padding.unsqueeze(1), float("-inf"))
        if causal:
            scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1), float("-inf"))
        context = torch.softmax(scores, dim=-1) @ x
        return context.squeeze(1) if self.is_pool else torch.cat([x, context], dim=-1)


def recurrent(kind, x, hidden, layers=1, bidirectional=False, activation="tanh", reset_after=True, proj=0):
    if kind == "rnn":
        return nn.RNN(x, hidden, num_layers=layers, bidirectional=bidirectional, nonlinearity=activation, batch_first=True)
    if kind == "lstm":
        return nn.LSTM(x, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=True, proj_size=proj)
    if reset_after:
        return nn.GRU(x, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=True)
    return ChoGRU(x, hidden, num_layers=layers, bidirectional=bidirectional)


def activation(name, x):
    """The activation a fixture's layer names: None (identity), "tanh", "relu", "sigmoid", "gelu", "gelu_tanh" or "silu"."""
    return {None: lambda v: v, "tanh": torch.tanh, "relu": F.relu, "sigmoid": torch.sigmoid, "gelu": F.gelu,
            "gelu_tanh": lambda v: F.gelu(v, approximate="tanh"), "silu": F.silu}[name](x)


class MoE(nn.Module):
    """A sparse mixture of experts as Hugging Face's Mixtral (and OLMoE, Qwen-MoE) computes it: the router's softmax, the top k
    per row (renormalised with normalize), each expert a feed-forward network over its own rows (gated: value * act(gate) of
    its inner map's halves), the outputs added back weighted (index_add_). Parameters as Dsl's [Moe] names them: router
    [E, D], weight_in [E, I, D] (I = 2U gated: value rows, then gate rows), weight_out [E, D, U], bias_in [E, I], bias_out [E, D].
    With balance (the coefficient alpha), the Switch Transformer's load-balancing loss of the pass, as Hugging Face's
    load_balancing_loss_func computes it for one layer, is left in self.aux: alpha * E * sum_e f_e * P_e, f_e the share of the
    rows' k choices that went to e (one_hot, no gradient), P_e the mean probability of e. With shared (units), a shared expert
    every row goes through besides (Qwen2MoeSparseMoeBlock's shared_expert; DeepSeekMoE's), of the experts' activation, gating
    and biases, its output added, scaled by sigmoid(x . shared_gate) with shared_gate (Qwen2-MoE's shared_expert_gate):
    shared_in [(2)S, D], shared_out [D, S], shared_bias_in, shared_bias_out, shared_gate [1, D]."""

    def __init__(self, width, experts, units, k=2, normalize=True, act="silu", gated=True, bias=False, balance=0.0, shared=0, shared_gate=False):
        super().__init__()
        self.shared = shared
        if shared:
            shared_inner = (2 if gated else 1) * shared
            self.shared_in = nn.Parameter(torch.empty(shared_inner, width).uniform_(-1, 1) / math.sqrt(width))
            self.shared_out = nn.Parameter(torch.empty(width, shared).uniform_(-1, 1) / math.sqrt(shared))
            self.shared_bias_in = nn.Parameter(torch.empty(shared_inner).uniform_(-0.5, 0.5)) if bias else None
            self.shared_bias_out = nn.Parameter(torch.empty(width).uniform_(-0.5, 0.5)) if bias else None
            self.shared_gate = nn.Parameter(torch.empty(1, width).uniform_(-1, 1)) if shared_gate else None
        inner = (2 if gated else 1) * units
        self.k, self.normalize, self.act, self.gated, self.units, self.balance, self.aux = k, normalize, act, gated, units, balance, None
        self.router = nn.Parameter(torch.empty(experts, width).uniform_(-1, 1) / math.sqrt(width))
        self.weight_in = nn.Parameter(torch.empty(experts, inner, width).uniform_(-1, 1) / math.sqrt(width))
        self.weight_out = nn.Parameter(torch.empty(experts, width, units).uniform_(-1, 1) / math.sqrt(units))
        self.bias_in = nn.Parameter(torch.empty(experts, inner).uniform_(-0.5, 0.5)) if bias else None
        self.bias_out = nn.Parameter(torch.empty(experts, width).uniform_(-0.5, 0.5)) if bias else None

    def forward(self, x):
        h = x.reshape(-1, x.shape[-1])
        probs = F.softmax(h @ self.router.t(), dim=-1)
        weights, chosen = torch.topk(probs, self.k, dim=-1)
        if self.balance:
            experts = self.router.shape[0]
            tokens_per_expert = F.one_hot(chosen, experts).to(probs.dtype).mean(dim=0)  # [k, E]
            self.aux = self.balance * experts * (tokens_per_expert * probs.mean(dim=0)[None]).sum()
        if self.normalize:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        out = torch.zeros_like(h)
        for e in range(self.router.shape[0]):
            rows, slot = torch.where(chosen == e)
            if rows.numel() == 0:
                continue
            pre = h[rows] @ self.weight_in[e].t()
            if self.bias_in is not None:
                pre = pre + self.bias_in[e]
            if self.gated:
                value, gate = pre.chunk(2, dim=-1)
                inner = value * activation(self.act, gate)
            else:
                inner = activation(self.act, pre)
            y = inner @ self.weight_out[e].t()
            if self.bias_out is not None:
                y = y + self.bias_out[e]
            out.index_add_(0, rows, y * weights[rows, slot, None])
        if self.shared:
            pre = h @ self.shared_in.t()
            if self.shared_bias_in is not None:
                pre = pre + self.shared_bias_in
            if self.gated:
                value, gate = pre.chunk(2, dim=-1)
                inner = value * activation(self.act, gate)
            else:
                inner = activation(self.act, pre)
            y = inner @ self.shared_out.t()
            if self.shared_bias_out is not None:
                y = y + self.shared_bias_out
            if self.shared_gate is not None:
                y = torch.sigmoid(h @ self.shared_gate.t()) * y
            out = out + y
        return out.reshape(x.shape)


class RMSNorm(nn.Module):
    """nn.RMSNorm of torch 2.4 (LLaMA's LlamaRMSNorm; torch 1.13 has none): x * rsqrt(mean(x^2) + eps) * weight, eps by default
    the float's machine epsilon as nn.RMSNorm's eps=None."""

    def __init__(self, width, eps=None, elementwise_affine=True):
        super().__init__()
        self.eps = torch.finfo(torch.float32).eps if eps is None else eps
        self.weight = nn.Parameter(torch.ones(width)) if elementwise_affine else None

    def forward(self, x):
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return y if self.weight is None else y * self.weight


class RotaryAttention(nn.Module):
    """nn.MultiheadAttention's projections and heads (its parameters, drawn as it draws them) with rotary position embeddings
    on the queries and keys (RoFormer; Hugging Face LLaMA's apply_rotary_pos_emb with rotate_half: the pair (j, j + d/2) of
    each head turned by position * base^(-2j/d)), positions from 0."""

    def __init__(self, width, heads, base, bias=True):
        super().__init__()
        reference = nn.MultiheadAttention(width, heads, batch_first=True, bias=bias)
        self.heads, self.base = heads, base
        self.in_proj_weight, self.in_proj_bias, self.out_proj = reference.in_proj_weight, reference.in_proj_bias, reference.out_proj

    def forward(self, x, causal, padding):
        B, T, E = x.shape
        h = self.heads
        kv = getattr(self, "kv_heads", h)
        d = getattr(self, "head_dim", None) or E // h  # a head's width apart from E / h (Hugging Face's head_dim)
        qkv = x @ self.in_proj_weight.T
        qkv = qkv if self.in_proj_bias is None else qkv + self.in_proj_bias
        if getattr(self, "clip", None):  # OLMo's clip_qkv: every projected value clamped
            qkv = qkv.clamp(-self.clip, self.clip)
        q, k, v = qkv.split([h * d, kv * d, kv * d], dim=-1)
        across = getattr(self, "qk_across", False)
        if across:  # OLMo 2's QK-norm: all of each step's queries normalised together, and its keys
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = q.reshape(B, T, h, d), k.reshape(B, T, kv, d), v.reshape(B, T, kv, d)
        if getattr(self, "q_norm", None) is not None and not across:  # QK-norm (Qwen3's q_norm and k_norm): each head RMS-normalised, before the rotation
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, h, T, d], [B, kv, T, d]
        if self.base is not None:
            r = getattr(self, "rotary_dim", None) or d  # a partial rotation: each head's first r values turned, the rest kept
            inv_freq = 1.0 / (self.base ** (torch.arange(0, r, 2, dtype=torch.float64) / r))
            angles = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
            emb = torch.cat([angles, angles], dim=-1)
            cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)

            def rotate_half(t):
                return torch.cat([-t[..., r // 2:], t[..., :r // 2]], dim=-1)

            def turn(t):
                return torch.cat([t[..., :r] * cos + rotate_half(t[..., :r]) * sin, t[..., r:]], dim=-1)

            q, k = turn(q), turn(k)
        # grouped-query attention: query head i reads key/value head i // (h // kv) (Hugging Face's repeat_kv)
        k, v = k.repeat_interleave(h // kv, dim=1), v.repeat_interleave(h // kv, dim=1)
        scale = getattr(self, "scale", None)  # the scores' scale apart from 1/sqrt(d) (scaled_dot_product_attention's scale=)
        scores = q @ k.transpose(-1, -2) * scale if scale else q @ k.transpose(-1, -2) / math.sqrt(d)
        cap = getattr(self, "softcap", None)  # Gemma 2's attn_logit_softcapping: the scaled scores through cap * tanh(s / cap)
        if cap:
            scores = torch.tanh(scores / cap) * cap
        if getattr(self, "alibi", False):  # ALiBi: -m_h |j - i| (JinaBERT's _get_alibi_head_slopes and relative positions)
            relative = (torch.arange(T)[None, :] - torch.arange(T)[:, None]).abs()
            scores = scores + torch.tensor(alibi_slopes(h), dtype=x.dtype)[:, None, None] * -relative
        if getattr(self, "relative_attention_bias", None) is not None:  # T5's and MPNet's bias by distance, in buckets
            # (a causal layer's buckets one-sided, as T5's decoder's)
            scores = scores + relative_position_bias(self.relative_attention_bias, T, self.relative_max_distance, bidirectional=not causal)
        if causal:
            scores = scores + torch.triu(torch.full((T, T), float("-inf"), dtype=x.dtype), diagonal=1)
        if getattr(self, "window", None):  # a sliding window: query i sees keys i - window < j <= i
            scores = scores + torch.tril(torch.full((T, T), float("-inf"), dtype=x.dtype), diagonal=-self.window)
        if padding is not None:
            scores = scores.masked_fill(padding[:, None, None, :], float("-inf"))
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, h * d)
        return self.out_proj(context)


def build_alibi_tensor(mask, heads, bfloat16=False):
    """transformers' build_alibi_tensor (BLOOM's; with bfloat16, Falcon's, whose slopes are rounded to bfloat16 before they multiply
    the positions, in bfloat16): the slopes in float32 from two bases, times each key's position among the valid ones of mask [B, T];
    [B, heads, 1, T], float32."""
    closest = 2 ** math.floor(math.log2(heads))
    base = torch.tensor(2 ** (-(2 ** -(math.log2(closest) - 3))), dtype=torch.float32)
    slopes = torch.pow(base, torch.arange(1, 1 + closest, dtype=torch.int32))
    if closest != heads:
        extra = torch.tensor(2 ** (-(2 ** -(math.log2(2 * closest) - 3))), dtype=torch.float32)
        slopes = torch.cat([slopes, torch.pow(extra, torch.arange(1, 1 + 2 * min(closest, heads - closest), 2, dtype=torch.int32))])
    positions = ((mask.cumsum(dim=-1) - 1) * mask)[:, None, :]
    alibi = slopes[..., None].bfloat16() * positions if bfloat16 else slopes[..., None] * positions
    return alibi.float()[:, :, None, :]


def alibi_slopes(n):
    """ALiBi's head slopes as the paper's get_slopes computes them (Press et al. 2022; JinaBERT's _get_alibi_head_slopes, in
    double): a geometric sequence from 2^(-8/n) for n a power of two, else the power of two below's, then every other slope of
    twice it."""
    def power_of_2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return power_of_2(n)
    closest = 2 ** math.floor(math.log2(n))
    return power_of_2(closest) + alibi_slopes(2 * closest)[0::2][:n - closest]


def relative_position_bucket(relative_position, num_buckets=32, max_distance=128, bidirectional=True):
    """The bucket of each distance j - i as transformers' T5 (T5Attention._relative_position_bucket) and MPNet compute it:
    bidirectional (T5's encoder, MPNet), half the buckets for the keys after the query, a bucket per distance below a quarter of
    them, then logarithmically wider up to max_distance; one-sided (T5's decoder, bidirectional=False), every bucket for the keys
    at or before the query (those after it in bucket 0), a bucket per distance below half of them."""
    ret = 0
    n = -relative_position
    if bidirectional:
        num_buckets //= 2
        ret += (n < 0).to(torch.long) * num_buckets
        n = torch.abs(n)
    else:
        n = torch.max(n, torch.zeros_like(n))
    max_exact = num_buckets // 2
    is_small = n < max_exact
    val_if_large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)).to(torch.long)
    val_if_large = torch.min(val_if_large, torch.full_like(val_if_large, num_buckets - 1))
    return ret + torch.where(is_small, n, val_if_large)


def make_relative_buckets():
    """relative_buckets.json: PyTorch's bucket of every distance -3000 ... 3000 at T5's and MPNet's sizes and a few others, on both
    sides of a query (T5's encoder's, MPNet's) and one-sided (T5's decoder's)."""
    distances = torch.arange(-3000, 3001)
    sizes = [(32, 128), (32, 64), (64, 256), (16, 32), (8, 6), (4, 2)]
    one_sided = [(32, 128), (64, 256), (8, 6), (3, 2), (2, 5)]
    rows = [{"buckets": b, "max_distance": m, "bidirectional": True, "first": -3000, "bucket": relative_position_bucket(distances, b, m).tolist()} for b, m in sizes]
    rows += [{"buckets": b, "max_distance": m, "bidirectional": False, "first": -3000, "bucket": relative_position_bucket(distances, b, m, False).tolist()}
             for b, m in one_sided]
    with open(os.path.join(HERE, "relative_buckets.json"), "w") as f:
        json.dump(rows, f, separators=(",", ":"))
    print(f"relative_buckets.json: {len(rows)} sizes")


def relative_position_bias(table, steps, max_distance, bidirectional=True):
    """[1, heads, T, T]: the table's (nn.Embedding(buckets, heads)) row of each distance's bucket, as MPNet's compute_position_bias
    and T5Attention.compute_bias (bidirectional=False: a decoder's, one-sided)."""
    relative = torch.arange(steps)[None, :] - torch.arange(steps)[:, None]
    return table(relative_position_bucket(relative, table.num_embeddings, max_distance, bidirectional)).permute(2, 0, 1).unsqueeze(0)


class GroupedAttention(RotaryAttention):
    """Grouped-query attention (Ainslie et al. 2023; LLaMA 2 70B's, LLaMA 3's and Mistral's num_key_value_heads; multi-query
    attention with one): kv_heads key/value heads, query head i reading head i // (heads // kv_heads) (Hugging Face's
    repeat_kv), in_proj_weight [h * d + 2 * kv_heads * d, E] = cat([q_proj.weight, k_proj.weight, v_proj.weight]); rotary
    positions when base is given; heads head_dim wide when it is given (d = E / h otherwise), out_proj [E, h * d]; QK-norm
    when qk_norm (its eps) is given: q_norm and k_norm, RMSNorm(d) over each head, their scales drawn from U(0.5, 1.5). The
    projection biases are drawn from U(-0.2, 0.2) so that the gradients reach them."""

    def __init__(self, width, heads, kv_heads, base=None, bias=True, head_dim=None, qk_norm=None, qk_across=False):
        nn.Module.__init__(self)
        d = head_dim or width // heads
        packed = heads * d + 2 * kv_heads * d
        self.heads, self.kv_heads, self.base, self.head_dim = heads, kv_heads, base, d
        self.in_proj_weight = nn.Parameter(torch.empty(packed, width))
        nn.init.xavier_uniform_(self.in_proj_weight)
        self.in_proj_bias = nn.Parameter(torch.empty(packed).uniform_(-0.2, 0.2)) if bias else None
        self.out_proj = nn.Linear(heads * d, width, bias=bias)
        self.qk_across = qk_across  # OLMo 2's: q_norm over all the queries (RMSNorm(h * d)), k_norm over all the keys
        if qk_norm is not None:
            self.q_norm, self.k_norm = (RMSNorm(heads * d, qk_norm), RMSNorm(kv_heads * d, qk_norm)) if qk_across else (RMSNorm(d, qk_norm), RMSNorm(d, qk_norm))
            with torch.no_grad():
                self.q_norm.weight.uniform_(0.5, 1.5)
                self.k_norm.weight.uniform_(0.5, 1.5)


class Stack(nn.Module):
    """A layer stack declared as in the DSL: ("embedding", V, D) ("embedding", V, D, "scaled": ScaleBySqrtDim, its vectors
    times sqrt(D)) | ("input", F) | (kind, H, options) | ("dense", U, act)
    | ("dense", V, act, "tied") (TieEmbedding = true: PyTorch's decoder.weight = encoder.weight), "nobias" after the activation
    for Bias = false (nn.Linear(bias=False)), "gated" for Gated = true (nn.Linear(in, 2 * units), value * act(gate) of its halves)
    | ("rmsnorm",) or ("rmsnorm", eps) | ("attention", heads, {"rotary": base, "causal": ...}) (rotary positions)."""

    def __init__(self, layers):
        super().__init__()
        self.plan, counts, width = [], {}, None
        inputs = []  # the width flowing into each layer
        for spec in layers:
            kind = spec[0]
            inputs.append(width)
            name = kind if kind not in counts else f"{kind}_{counts[kind]}"
            counts[kind] = counts.get(kind, 0) + 1
            if kind == "input":
                width = spec[1]
                continue
            if kind in ("residual", "positionalencoding", "branch", "scale"):  # no parameters
                if kind == "branch":  # the stack continues from the input of the layer spec[1] places back: its width
                    width = inputs[len(inputs) - 1 - spec[1]]
                self.plan.append((name, spec))
                continue
            if kind == "layernorm":  # "noaffine": elementwise_affine=False, no parameter
                self.add_module(name, nn.LayerNorm(width, eps=(spec[1] if len(spec) > 1 else 1e-5), elementwise_affine="noaffine" not in spec[2:]))
                if "nobias" in spec[2:]:  # LayerNorm(Bias = false): nn.LayerNorm(bias=False) of torch 2.1, here without its bias
                    getattr(self, name).bias = None
                self.plan.append((name, spec))
                continue
            if kind == "rmsnorm":  # ("rmsnorm",) or ("rmsnorm", eps); the scale drawn from U(0.5, 1.5) so that each column differs; "noaffine": none
                self.add_module(name, RMSNorm(width, spec[1] if len(spec) > 1 else None, elementwise_affine="noaffine" not in spec[2:]))
                if getattr(self, name).weight is not None:
                    with torch.no_grad():
                        getattr(self, name).weight.uniform_(0.5, 1.5)
                self.plan.append((name, spec))
                continue
            if kind == "embedding":
                module, width = nn.Embedding(spec[1], spec[2]), spec[2]
            elif kind == "moe":  # ("moe", experts, units, {"topk": k, "normalize": ..., "act": ..., "gated": ..., "bias": ..., "balance": alpha})
                opts = spec[3] if len(spec) > 3 else {}
                module = MoE(width, spec[1], spec[2], opts.get("topk", 2), opts.get("normalize", True), opts.get("act", "silu"), opts.get("gated", True),
                             opts.get("bias", False), opts.get("balance", 0.0), opts.get("shared", 0), opts.get("shared_gate", False))
            elif kind == "positionembedding":  # GPT-2's wpe: a learned row per position, added (width unchanged)
                module = nn.Embedding(spec[1], width)
            elif kind == "dense":  # "gated": nn.Linear(width, 2 * units), value * act(gate) of its two halves (GLU variants)
                module = nn.Linear(width, (2 if "gated" in spec[3:] else 1) * spec[1], bias="nobias" not in spec[3:])
                width = spec[1]
                if "tied" in spec[3:]:  # weight tying: the table of the embedding (first) is the weight
                    module.weight = self.embedding.weight
            elif kind == "attention":
                opts = spec[2] if len(spec) > 2 else {}
                pool = opts.get("pool", False)
                if opts.get("score") in ("general", "additive"):
                    module = ClassicAttention(width, opts["score"], opts.get("units", 0), pool)
                    width = width if pool else 2 * width
                elif "kv" in opts or "head" in opts or "qknorm" in opts or "softcap" in opts or "rotary_dim" in opts or "relative" in opts or "alibi" in opts:
                    # {"kv": key/value heads, "rotary": base, "head": head_dim, "qknorm": eps}: grouped-query attention, heads of
                    # their own width, QK-norm
                    module = GroupedAttention(width, spec[1], opts.get("kv", spec[1]), opts.get("rotary"), opts.get("bias", True), opts.get("head"), opts.get("qknorm"),
                                              opts.get("qk_across", False))
                    module.scale = opts.get("scale")
                    module.window = opts.get("window")
                    module.softcap = opts.get("softcap")
                    module.rotary_dim = opts.get("rotary_dim")
                    module.alibi = opts.get("alibi", False)
                    if "relative" in opts:  # {"relative": (buckets, max_distance)}: the bias by distance, nn.Embedding(buckets, heads)
                        # ("shared": the first such layer's table, one nn.Embedding for both)
                        module.relative_attention_bias = self.attention.relative_attention_bias if opts.get("shared") else nn.Embedding(opts["relative"][0], spec[1])
                        module.relative_max_distance = opts["relative"][1]
                elif "rotary" in opts:  # {"rotary": base}
                    module = RotaryAttention(width, spec[1], opts["rotary"], opts.get("bias", True))
                    module.window = opts.get("window")
                    module.clip = opts.get("clip")  # {"clip": c}: ClipQkv
                else:  # {"bias": False}: nn.MultiheadAttention(bias=False)
                    bias = opts.get("bias", True)
                    module = PoolAttention(width, spec[1], bias) if pool else nn.MultiheadAttention(width, spec[1], batch_first=True, bias=bias)
            else:
                opts = spec[2] if len(spec) > 2 else {}
                module = recurrent(kind, width, spec[1], opts.get("layers", 1), opts.get("bidirectional", False),
                                   opts.get("activation", "tanh"), opts.get("reset_after", True), opts.get("proj", 0))
                width = (opts.get("proj") or spec[1]) * (2 if opts.get("bidirectional", False) else 1)
            self.add_module(name, module)
            self.plan.append((name, spec))

    def forward(self, x, initial=None, lengths=None):
        """initial: {layer name: h0 or (h0, c0)} for the recurrent layers that start from a given state;
        the final states are left in self.finals."""
        self.finals = {}
        history = []  # the output of every layer after the first, in order (index 0: the input layer's)
        if self.plan and self.plan[0][1][0] != "embedding":
            history.append(x)
        for name, spec in self.plan:
            kind = spec[0]
            if kind == "residual":  # adds the input of the layer spec[1] places back
                x = x + history[len(history) - 1 - spec[1]]
                history.append(x)
                continue
            if kind == "branch":  # the input of the layer spec[1] places back again (a second branch from it)
                x = history[len(history) - 1 - spec[1]]
                history.append(x)
                continue
            if kind == "positionalencoding":
                x = x + positional_encoding(x.shape[1], x.shape[2], x.dtype)
                history.append(x)
                continue
            if kind == "scale":  # ("scale", s): x * s (Granite's multipliers)
                x = x * spec[1]
                history.append(x)
                continue
            m = getattr(self, name)
            if kind in ("layernorm", "rmsnorm", "moe"):
                x = m(x)
                history.append(x)
                continue
            if kind == "embedding":
                x = m(x)
                if "scaled" in spec[3:]:  # Vaswani et al. 3.4, the TokenEmbedding of PyTorch's translation tutorial
                    x = x * math.sqrt(spec[2])
            elif kind == "positionembedding":
                x = x + m(torch.arange(x.shape[1]))
            elif kind == "attention":
                opts = spec[2] if len(spec) > 2 else {}
                steps = x.shape[1]
                causal = torch.triu(torch.full((steps, steps), float("-inf"), dtype=x.dtype), diagonal=1) if opts.get("causal") else None
                if opts.get("window"):  # {"window": w}: a sliding window, query i seeing keys i - w < j <= i (Mistral's)
                    causal = causal + torch.tril(torch.full((steps, steps), float("-inf"), dtype=x.dtype), diagonal=-opts["window"])
                padding = None if lengths is None else torch.arange(steps)[None, :] >= torch.as_tensor(lengths)[:, None]
                if opts.get("score") in ("general", "additive") or any(o in opts for o in ("rotary", "kv", "head", "qknorm", "softcap", "rotary_dim", "relative", "alibi")):
                    x = m(x, bool(opts.get("causal")), padding)
                elif opts.get("pool"):
                    x = m.pool(x, padding)
                else:
                    x, _ = m(x, x, x, attn_mask=causal, key_padding_mask=padding, need_weights=False)
            elif kind == "dense":
                x = m(x)
                act = spec[2] if len(spec) > 2 else None
                if "gated" in spec[3:]:
                    value, x = x.chunk(2, dim=-1)
                x = {None: x, "tanh": torch.tanh(x) if act == "tanh" else None, "relu": F.relu(x) if act == "relu" else None,
                     "sigmoid": torch.sigmoid(x) if act == "sigmoid" else None, "gelu": F.gelu(x) if act == "gelu" else None,
                     "gelu_tanh": F.gelu(x, approximate="tanh") if act == "gelu_tanh" else None, "silu": F.silu(x) if act == "silu" else None}[act]
                if "gated" in spec[3:]:
                    x = value * x
                for cap in (o for o in spec[3:] if isinstance(o, float)):  # a float: SoftCap, Gemma 2's final_logit_softcapping
                    x = torch.tanh(x / cap) * cap
            else:
                opts = spec[2] if len(spec) > 2 else {}
                if lengths is not None:
                    # PyTorch's own handling of padded sequences: pack, run, pad back with zeros.
                    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
                    out, hn = m(packed)
                    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
                    if not opts.get("return_sequences", True):
                        hn = hn[0] if isinstance(hn, tuple) else hn
                        out = torch.cat([hn[-2], hn[-1]], dim=1) if opts.get("bidirectional", False) else hn[-1]
                else:
                    if initial and name in initial:
                        out, self.finals[name] = m(x, initial[name])
                    else:
                        out, _ = m(x)
                    if not opts.get("return_sequences", True):
                        H = opts.get("proj") or spec[1]
                        out = torch.cat([out[:, -1, :H], out[:, 0, H:]], dim=1) if opts.get("bidirectional", False) else out[:, -1]
                x = out
            history.append(x)
        return x


def new_model(case, layers, seed):
    """The case's model from its seed, weights spread beyond PyTorch's small defaults so that every path carries
    signal, saved as <case>.weights.safetensors (a plain state_dict)."""
    torch.manual_seed(seed)
    model = Stack(layers)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.5)
    save_safetensors(os.path.join(HERE, f"{case}.weights.safetensors"), {k: v.detach().clone().float() for k, v in model.state_dict().items()})
    return model


def make(case, layers, batch, steps, loss, seed, ignore=True, smoothing=0.0):
    model = new_model(case, layers, seed)
    weights = model.state_dict()

    first = layers[0]
    if first[0] == "embedding":
        x = torch.randint(0, first[1], (batch, steps))
    else:
        x = torch.randn(batch, steps, first[1])
    model = model.double()
    assert all(getattr(model, name).weight is model.embedding.weight for name, spec in model.plan if "tied" in spec[3:])
    out = model(x if first[0] == "embedding" else x.double())
    classes = out.shape[-1]
    if loss == "ce":
        targets = torch.randint(0, classes, out.shape[:-1])
        if ignore:
            targets.view(-1)[::4] = -100  # every fourth position is padding
        value = F.cross_entropy(out.reshape(-1, classes), targets.reshape(-1), ignore_index=-100, label_smoothing=smoothing)
    else:
        targets = torch.randn(out.shape)
        value = F.mse_loss(out, targets.double())
    for m in model.modules():  # each mixture's load-balancing loss, added (Dsl's LoadBalancingLoss)
        if isinstance(m, MoE) and m.aux is not None:
            value = value + m.aux
    value.backward()
    expected = {"input": x, "targets": targets if loss == "ce" else targets.float(), "output": out.float(), "loss": value.reshape(1).float()}
    if smoothing:
        expected["label_smoothing"] = torch.tensor([smoothing], dtype=torch.float32)
    for name, p in model.named_parameters():
        expected["grad." + name] = p.grad.float()
    save_safetensors(os.path.join(HERE, f"{case}.expected.safetensors"), expected)
    print(f"{case}: loss {value.item():.6f}, {len(weights)} tensors")


CASES = [
    # case name (= C# model class), layers, batch, steps, loss
    ("RnnTanh", [("embedding", 7, 4), ("rnn", 5), ("dense", 7)], 3, 5, "ce"),
    ("RnnRelu", [("input", 3), ("rnn", 5, {"activation": "relu"}), ("dense", 2)], 2, 6, "mse"),
    ("Lstm", [("embedding", 11, 5), ("lstm", 7), ("dense", 11)], 3, 5, "ce"),
    ("Gru", [("embedding", 9, 4), ("gru", 6), ("dense", 9)], 3, 4, "ce"),
    ("GruCho", [("input", 3), ("gru", 5, {"reset_after": False}), ("dense", 2)], 2, 5, "mse"),
    ("LstmStackedBidirectional", [("input", 3), ("lstm", 4, {"layers": 2, "bidirectional": True}), ("dense", 3)], 2, 5, "mse"),
    ("GruBidirectionalManyToOne", [("embedding", 8, 3), ("gru", 5, {"bidirectional": True, "return_sequences": False}), ("dense", 4)], 3, 6, "ce"),
    ("LstmStackedManyToOne", [("input", 4), ("lstm", 6, {"layers": 2, "return_sequences": False}), ("dense", 1, "tanh")], 3, 5, "mse"),
    ("RnnStackedBidirectional", [("embedding", 6, 4), ("rnn", 3, {"layers": 3, "bidirectional": True}), ("dense", 6, "relu")], 2, 4, "ce"),
    ("GruChoStackedBidirectional", [("input", 2), ("gru", 4, {"reset_after": False, "layers": 2, "bidirectional": True}), ("dense", 3, "sigmoid")], 2, 3, "mse"),
    ("LstmGruDense", [("embedding", 10, 4), ("lstm", 5), ("gru", 6), ("dense", 8, "tanh"), ("dense", 10)], 2, 5, "ce"),
    ("LstmSingleStep", [("embedding", 5, 3), ("lstm", 4), ("dense", 5)], 1, 1, "ce"),
    # Widths past the vector lanes (8 or 16) so the vectorised cell kernels run, with odd tails.
    ("LstmWide", [("embedding", 13, 9), ("lstm", 37, {"layers": 2}), ("dense", 13)], 5, 7, "ce"),
    ("GruWide", [("input", 11), ("gru", 33), ("dense", 3)], 6, 5, "mse"),
    ("GruChoWide", [("input", 6), ("gru", 35, {"reset_after": False, "bidirectional": True}), ("dense", 4)], 3, 4, "mse"),
    ("RnnWide", [("input", 5), ("rnn", 40, {"activation": "relu", "bidirectional": True, "return_sequences": False}), ("dense", 2)], 4, 6, "mse"),
    # Self-attention: nn.MultiheadAttention with query = key = value, output projection included.
    ("AttentionSelf", [("input", 8), ("attention", 2), ("dense", 3)], 3, 5, "mse"),
    ("AttentionCausalStack", [("embedding", 11, 6), ("lstm", 6), ("attention", 3, {"causal": True}), ("dense", 11)], 2, 6, "ce"),
    ("AttentionWide", [("input", 24), ("attention", 4), ("dense", 2)], 2, 33, "mse"),
    ("AttentionPool", [("input", 6), ("attention", 2, {"pool": True}), ("dense", 3)], 3, 5, "mse"),
    # The classic scores over the layer's own sequence ([x; context]) and as pooling (a learned query).
    ("AttentionGeneralSelf", [("input", 5), ("attention", 1, {"score": "general"}), ("dense", 3)], 3, 6, "mse"),
    ("AttentionAdditiveCausal", [("embedding", 9, 4), ("gru", 6), ("attention", 1, {"score": "additive", "units": 5, "causal": True}), ("dense", 9)], 2, 7, "ce"),
    ("AttentionGeneralPool", [("input", 4), ("lstm", 6), ("attention", 1, {"score": "general", "pool": True}), ("dense", 2)], 3, 5, "mse"),
    ("AttentionAdditivePool", [("embedding", 8, 5), ("attention", 1, {"score": "additive", "pool": True, "units": 4}), ("dense", 3)], 4, 6, "ce"),
    # A Transformer encoder block (post-norm) and a residual LSTM: [PositionalEncoding], [Residual], [LayerNorm].
    ("TransformerBlock", [("input", 8), ("positionalencoding",), ("attention", 2), ("residual", 1), ("layernorm",), ("dense", 16, "relu"),
                          ("dense", 8), ("residual", 2), ("layernorm", 1e-3), ("dense", 3)], 2, 5, "mse"),
    ("LstmResidualNorm", [("embedding", 7, 6), ("lstm", 6), ("residual", 1), ("layernorm",), ("dense", 7)], 3, 4, "ce"),
    # Weight tying (Press and Wolf 2017): the output layer's weight is the embedding's table, so the state_dict holds it under
    # both names and its gradient is the sum of both uses. 15 ids > 11 rows: the LSTM folds the table into its projection.
    ("LstmTied", [("embedding", 11, 7), ("lstm", 7), ("dense", 11, None, "tied")], 3, 5, "ce"),
    # GPT-2's output layer: tied, and no bias
    ("AttentionTied", [("embedding", 13, 8), ("positionalencoding",), ("attention", 2, {"causal": True}), ("residual", 1), ("layernorm",),
                       ("dense", 13, None, "tied", "nobias")], 2, 6, "ce"),
    # a GPT-style block: causal attention, a GELU feed-forward (F.gelu, exact), the output layer tied to the embedding, no bias
    ("GptBlock", [("embedding", 13, 8), ("positionalencoding",), ("attention", 2, {"causal": True}), ("residual", 1), ("layernorm",),
                  ("dense", 32, "gelu"), ("dense", 8), ("residual", 2), ("layernorm",), ("dense", 13, None, "tied", "nobias")], 3, 7, "ce"),
    # GELU's tanh form (GPT-2's "gelu_new") and SiLU
    ("FeedForwardActivations", [("input", 5), ("dense", 8, "silu"), ("dense", 6, "gelu_tanh"), ("dense", 3)], 3, 4, "mse"),
    # nanoGPT's block (bias=False): pre-norm, no shift in the norms, no bias in the projections, the output layer tied
    ("NanoGptBlock", [("embedding", 13, 8), ("positionalencoding",), ("layernorm", 1e-5, "nobias"), ("attention", 2, {"causal": True}),
                      ("residual", 2), ("layernorm", 1e-5, "nobias"), ("dense", 32, "gelu"), ("dense", 8, None, "nobias"), ("residual", 3),
                      ("layernorm", 1e-5, "nobias"), ("dense", 13, None, "tied", "nobias")], 3, 7, "ce"),
    # GPT-2's learned positions (wpe, nn.Embedding(block_size, n_embd)) instead of the sinusoids, in a pre-norm block
    ("Gpt2Block", [("embedding", 13, 8), ("positionembedding", 9), ("layernorm",), ("attention", 2, {"causal": True}), ("residual", 2),
                   ("layernorm",), ("dense", 32, "gelu_tanh"), ("dense", 8), ("residual", 3), ("layernorm",), ("dense", 13, None, "tied", "nobias")], 3, 7, "ce"),
    # learned positions on feature vectors, under an LSTM
    ("PositionEmbeddingLstm", [("input", 3), ("positionembedding", 6), ("lstm", 5), ("dense", 2)], 2, 6, "mse"),
    # an embedding scaled by sqrt(dim) (ScaleBySqrtDim) under sinusoids and causal attention, the output layer tied to the
    # unscaled table; and under an LSTM, with more ids (15) than rows (7), where an unscaled table is folded into the projection
    ("ScaledEmbeddingAttention", [("embedding", 13, 8, "scaled"), ("positionalencoding",), ("attention", 2, {"causal": True}), ("residual", 1),
                                  ("layernorm",), ("dense", 13, None, "tied")], 2, 6, "ce"),
    ("ScaledEmbeddingLstm", [("embedding", 7, 4, "scaled"), ("lstm", 5), ("dense", 7)], 3, 5, "ce"),
    # RMS norm (nn.RMSNorm; LLaMA's pre-norm block with a SiLU feed-forward and no biases in the projections after it), at
    # nn.RMSNorm's default eps and at LLaMA's; and on a many-to-one LSTM's last state, 37 wide (vector lanes and a tail)
    ("RmsNormBlock", [("embedding", 13, 24), ("positionalencoding",), ("rmsnorm",), ("attention", 2, {"causal": True}), ("residual", 2),
                      ("rmsnorm", 1e-5), ("dense", 40, "silu"), ("dense", 24, None, "nobias"), ("residual", 3), ("rmsnorm", 1e-6),
                      ("dense", 13, None, "nobias")], 3, 7, "ce"),
    ("RmsNormManyToOne", [("input", 4), ("lstm", 37, {"return_sequences": False}), ("rmsnorm",), ("dense", 2)], 3, 5, "mse"),
    # rotary position embeddings (RoPE, Hugging Face LLaMA's rotate_half form) in a pre-norm causal block; and without the
    # mask at another base, heads 40 wide (20 pairs: the vector lanes and a tail)
    ("RotaryBlock", [("embedding", 13, 24), ("rmsnorm",), ("attention", 2, {"causal": True, "rotary": 10000.0}), ("residual", 2),
                     ("rmsnorm", 1e-5), ("dense", 40, "silu"), ("dense", 24, None, "nobias"), ("residual", 3), ("rmsnorm", 1e-6),
                     ("dense", 13, None, "nobias")], 3, 7, "ce"),
    ("RotaryWide", [("input", 80), ("attention", 2, {"rotary": 500.0}), ("dense", 3)], 2, 9, "mse"),
    # gated linear units (Shazeer 2020): value * act(gate), the halves of nn.Linear(in, 2 * units): SwiGLU, GEGLU (both GELUs),
    # F.glu's sigmoid, ReGLU, tanh and the bilinear form, 20 wide (the vector lanes and a tail); and LLaMA's block: RMS norm,
    # rotary causal attention, a SwiGLU feed-forward without biases
    ("GatedFeedForward", [("input", 5), ("dense", 20, "silu", "gated"), ("dense", 9, "gelu", "gated"), ("dense", 7, "gelu_tanh", "gated", "nobias"),
                          ("dense", 6, "sigmoid", "gated"), ("dense", 5, "relu", "gated"), ("dense", 4, "tanh", "gated"), ("dense", 3, None, "gated")], 3, 4, "mse"),
    ("LlamaBlock", [("embedding", 13, 24), ("rmsnorm",), ("attention", 2, {"causal": True, "rotary": 10000.0, "bias": False}), ("residual", 2),
                    ("rmsnorm",), ("dense", 40, "silu", "gated", "nobias"), ("dense", 24, None, "nobias"), ("residual", 3), ("rmsnorm",),
                    ("dense", 13, None, "nobias")], 3, 7, "ce"),
    # nn.MultiheadAttention(bias=False): LLaMA's attention without projection biases (rotary, causal), then pooling without them
    ("AttentionWithoutBias", [("embedding", 11, 16), ("attention", 2, {"causal": True, "rotary": 10000.0, "bias": False}), ("residual", 1),
                              ("attention", 4, {"bias": False}), ("attention", 2, {"pool": True, "bias": False}), ("dense", 3)], 3, 6, "ce"),
    # grouped-query attention (LLaMA 2 70B's, LLaMA 3's, Mistral's): LLaMA's block with 4 query heads over 2 key/value heads; and
    # multi-query attention (1 key/value head for 6 query heads) then a causal layer of 4 over 2, with biases, no rotation
    ("GroupedQueryBlock", [("embedding", 13, 24), ("rmsnorm",), ("attention", 4, {"causal": True, "rotary": 10000.0, "bias": False, "kv": 2}),
                           ("residual", 2), ("rmsnorm",), ("dense", 40, "silu", "gated", "nobias"), ("dense", 24, None, "nobias"), ("residual", 3),
                           ("rmsnorm",), ("dense", 13, None, "nobias")], 3, 7, "ce"),
    ("MultiQueryAttention", [("input", 12), ("attention", 6, {"kv": 1}), ("attention", 4, {"kv": 2, "causal": True}), ("dense", 3)], 2, 9, "mse"),
    # sliding-window attention (Mistral's): LLaMA's block with grouped heads, each step over the 3 most recent; and
    # nn.MultiheadAttention's heads over windows of 1 (each step itself), 4 and 40 (past the steps: plain causal attention)
    ("SlidingWindowBlock", [("embedding", 13, 24), ("rmsnorm",), ("attention", 4, {"causal": True, "rotary": 10000.0, "bias": False, "kv": 2, "window": 3}),
                            ("residual", 2), ("rmsnorm",), ("dense", 40, "silu", "gated", "nobias"), ("dense", 24, None, "nobias"), ("residual", 3),
                            ("rmsnorm",), ("dense", 13, None, "nobias")], 3, 9, "ce"),
    ("SlidingWindowAttention", [("input", 8), ("attention", 2, {"causal": True, "window": 1}), ("attention", 2, {"causal": True, "window": 4}),
                                ("attention", 4, {"causal": True, "window": 40}), ("dense", 3)], 2, 11, "mse"),
    # Qwen3's block: grouped heads 20 wide apart from the layer's 24 / 4 (head_dim; queries 80 wide, the vector lanes and a
    # tail), each head's queries and keys RMS-normalised (q_norm, k_norm) before the rotation; and heads of their own width
    # with biases and a scale of their own (scale=), then QK-norm at another eps over nn.MultiheadAttention's heads (as many
    # key/value heads), with biases
    ("QwenBlock", [("embedding", 13, 24), ("rmsnorm",), ("attention", 4, {"causal": True, "rotary": 10000.0, "bias": False, "kv": 2, "head": 20, "qknorm": 1e-6}),
                   ("residual", 2), ("rmsnorm",), ("dense", 40, "silu", "gated", "nobias"), ("dense", 24, None, "nobias"), ("residual", 3),
                   ("rmsnorm",), ("dense", 13, None, "nobias")], 3, 7, "ce"),
    ("HeadWidthAttention", [("input", 12), ("attention", 3, {"head": 6, "scale": 0.3}), ("attention", 2, {"causal": True, "qknorm": 1e-5}), ("dense", 3)], 2, 9, "mse"),
    # Gemma 2's block: the embedding scaled by sqrt(24), a norm before and after the attention and the feed-forward (the
    # sandwich), grouped heads 20 wide scaled by 0.3 over a window of 4, their scores soft-capped at 1.5, GELU's tanh form on
    # the gate, and the logits soft-capped at 2 (caps small enough that tanh bends every score and logit); and soft-capped
    # scores over nn.MultiheadAttention's heads (not causal, then causal with one key/value head), the outputs capped at 0.5
    ("Gemma2Block", [("embedding", 13, 24, "scaled"), ("rmsnorm",),
                     ("attention", 4, {"causal": True, "rotary": 10000.0, "bias": False, "kv": 2, "head": 20, "scale": 0.3, "window": 4, "softcap": 1.5}),
                     ("rmsnorm",), ("residual", 3), ("rmsnorm",), ("dense", 40, "gelu_tanh", "gated", "nobias"), ("dense", 24, None, "nobias"),
                     ("rmsnorm",), ("residual", 4), ("rmsnorm",), ("dense", 13, None, "nobias", 2.0)], 3, 9, "ce"),
    # a partial rotation (GPT-NeoX's rotary_pct, Phi-4-mini's partial_rotary_factor): the first 4 of each head's 6 values turned
    ("PartialRotaryBlock", [("embedding", 13, 24), ("rmsnorm",), ("attention", 4, {"causal": True, "rotary": 10000.0, "bias": False, "kv": 2, "rotary_dim": 4}),
                            ("residual", 2), ("rmsnorm",), ("dense", 40, "silu", "gated", "nobias"), ("dense", 24, None, "nobias"), ("residual", 3),
                            ("rmsnorm",), ("dense", 13, None, "nobias")], 3, 7, "ce"),
    ("SoftCapAttention", [("input", 12), ("attention", 3, {"softcap": 0.8}), ("attention", 2, {"causal": True, "kv": 1, "softcap": 2.0}),
                          ("dense", 3, None, 0.5)], 2, 9, "mse"),
    # T5's and MPNet's relative position bias: 32 buckets up to 128 (MPNet's; 20 steps reach its logarithmic buckets) in two
    # layers that share one table ("shared": the first's nn.Embedding, as MPNet's encoder keeps one), then 8 buckets up to 6 of
    # its own over two key/value heads (the distances past 6 sharing a half's last bucket)
    ("RelativeAttention", [("input", 12), ("attention", 3, {"relative": (32, 128)}), ("attention", 3, {"relative": (32, 128), "shared": True}),
                           ("attention", 4, {"relative": (8, 6), "kv": 2}), ("dense", 3)], 2, 20, "mse"),
    # T5's decoder's: causal layers, one-sided buckets (every bucket for the keys at or before a query), 32 up to 128 in two
    # layers sharing one table (20 steps reach past its 16 exact distances), then 6 up to 4 of its own over two key/value heads
    # (past 4 the last bucket)
    ("CausalRelativeAttention", [("input", 12), ("attention", 3, {"causal": True, "relative": (32, 128)}),
                                 ("attention", 3, {"causal": True, "relative": (32, 128), "shared": True}),
                                 ("attention", 4, {"causal": True, "relative": (6, 4), "kv": 2}), ("dense", 3)], 2, 20, "mse"),
    # ALiBi (BLOOM's, MPT's, JinaBERT's): -m_h |j - i| on the scores, over the whole sequence with 6 heads (slopes interpolated
    # between powers of two), causal with 4 heads over two key/value heads
    ("AlibiAttention", [("input", 12), ("attention", 6, {"alibi": True}), ("attention", 4, {"causal": True, "alibi": True, "kv": 2}), ("dense", 3)], 2, 20, "mse"),
    # parallel blocks (GPT-NeoX's: x + attn(ln1(x)) + mlp(ln2(x)), a partial rotation; GPT-J's: x + attn(ln(x)) + mlp(ln(x))):
    # a branch back to the block's input (or its norm), two residuals adding the branches
    ("ParallelBlock", [("embedding", 13, 24), ("layernorm",), ("attention", 4, {"causal": True, "rotary": 10000.0, "rotary_dim": 4}), ("branch", 2),
                       ("layernorm",), ("dense", 48, "gelu"), ("dense", 24), ("residual", 4), ("residual", 7),
                       ("layernorm",), ("attention", 2, {"causal": True}), ("branch", 1), ("dense", 40, "gelu_tanh"), ("dense", 24),
                       ("residual", 3), ("residual", 6), ("layernorm",), ("dense", 13)], 3, 7, "ce"),
    # norms that learn nothing (elementwise_affine=False: OLMo's layer norms, and an RMS norm so), in a rotary block
    ("NormsWithoutAffine", [("embedding", 13, 8), ("layernorm", 1e-5, "noaffine"), ("attention", 2, {"causal": True, "rotary": 10000.0}),
                            ("residual", 2), ("rmsnorm", 1e-6, "noaffine"), ("dense", 16, "silu", "gated", "nobias"), ("dense", 8, None, "nobias"),
                            ("residual", 3), ("layernorm", 1e-5, "noaffine"), ("dense", 13)], 3, 7, "ce"),
    # OLMo 1.7's clip_qkv: the projected queries, keys and values clamped to +-0.5 (about half of them clipped here)
    ("ClippedAttention", [("embedding", 13, 8), ("attention", 2, {"causal": True, "rotary": 10000.0, "clip": 0.5}), ("residual", 1), ("dense", 13)], 3, 7, "ce"),
    # OLMo 2's block: QK-norm across the heads (over 2 key/value heads), the norms after the attention and the feed-forward
    ("Olmo2Block", [("embedding", 13, 24), ("attention", 4, {"causal": True, "rotary": 10000.0, "bias": False, "kv": 2, "qknorm": 1e-6, "qk_across": True}),
                    ("rmsnorm", 1e-6), ("residual", 2), ("dense", 32, "silu", "gated", "nobias"), ("dense", 24, None, "nobias"), ("rmsnorm", 1e-6),
                    ("residual", 3), ("rmsnorm", 1e-6), ("dense", 13, None, "nobias")], 3, 7, "ce"),
    # Granite's multipliers as [Scale] layers: the embedding's, each sub-layer's before its residual, the logits' (1 / logits_scaling)
    ("ScaledBlock", [("embedding", 13, 16), ("scale", 12.0), ("rmsnorm", 1e-6), ("attention", 4, {"causal": True, "rotary": 10000.0, "bias": False, "kv": 2, "scale": 0.125}),
                     ("scale", 0.25), ("residual", 3), ("rmsnorm", 1e-6), ("dense", 24, "silu", "gated", "nobias"), ("dense", 16, None, "nobias"), ("scale", 0.25),
                     ("residual", 4), ("rmsnorm", 1e-6), ("dense", 13, None, "nobias"), ("scale", 0.0625)], 3, 7, "ce"),
    # a mixture of experts in Mixtral's block: 4 SwiGLU experts, 2 per row, their weights renormalised
    ("MoeBlock", [("embedding", 13, 16), ("rmsnorm", 1e-6), ("attention", 4, {"causal": True, "rotary": 10000.0, "bias": False, "kv": 2}), ("residual", 2),
                  ("rmsnorm", 1e-6), ("moe", 4, 12), ("residual", 2), ("rmsnorm", 1e-6), ("dense", 13, None, "nobias")], 3, 7, "ce"),
    # the Switch Transformer's top 1 (ReLU experts, not gated, with biases), and every expert of 3 chosen, GEGLU with biases,
    # the softmax's probabilities as they are (OLMoE's, Qwen2-MoE's norm_topk_prob=False)
    ("MoeVariants", [("input", 6), ("moe", 5, 7, {"topk": 1, "normalize": False, "act": "relu", "gated": False, "bias": True}),
                     ("moe", 3, 4, {"topk": 3, "normalize": False, "act": "gelu", "bias": True}), ("moe", 4, 5, {"topk": 2, "normalize": False}), ("dense", 3)], 2, 9, "mse"),
    # the load-balancing loss (the Switch Transformer's, Hugging Face's router_aux_loss_coef) of each mixture added to the loss:
    # 2 of 4 renormalised, then the top 1 of 3 as it is
    ("MoeBalanced", [("embedding", 11, 8), ("moe", 4, 6, {"balance": 0.1}), ("moe", 3, 5, {"topk": 1, "normalize": False, "balance": 0.05}), ("dense", 11)], 3, 7, "ce"),
    # a shared expert beside the routed ones: Qwen2-MoE's (SwiGLU, scaled by its sigmoid gate, 4 of 6 as they are), then
    # DeepSeekMoE's (added as it is) in ReLU experts without a gated unit, with biases
    ("MoeShared", [("input", 6), ("moe", 6, 5, {"topk": 4, "normalize": False, "shared": 7, "shared_gate": True}),
                   ("moe", 3, 4, {"act": "relu", "gated": False, "bias": True, "shared": 6}), ("dense", 3)], 2, 9, "mse"),
]

class Seq2Seq(nn.Module):
    """An encoder-decoder as a PyTorch user writes it, with the parameter names Dsl's [EncoderDecoder] gives:
    encoder = embedding -> bidirectional LSTM/GRU over packed sources; bridge = the final states of both directions,
    concatenated, copied or mapped by Linear (tanh for h, linear for c); decoder = embedding -> LSTM/GRU from that state
    -> attention over the encoder's outputs (padded source steps masked) -> [h; context] -> [dense tanh] -> dense."""

    def __init__(self, kind, src_vocab, src_dim, enc_hidden, tgt_vocab, tgt_dim, dec_hidden, score, units=0, extra_dense=0, heads=1, feed=False,
                 tied=False, shared=False):
        super().__init__()
        rnn = nn.LSTM if kind == "lstm" else nn.GRU
        self.kind, self.score, self.feed = kind, score, feed
        self.encoder = nn.Module()
        self.encoder.embedding = nn.Embedding(src_vocab, src_dim)
        setattr(self.encoder, kind, rnn(src_dim, enc_hidden, bidirectional=True, batch_first=True))
        self.bridged = 2 * enc_hidden != dec_hidden
        if self.bridged:
            self.bridge = nn.Module()
            self.bridge.h_l0 = nn.Linear(2 * enc_hidden, dec_hidden)
            if kind == "lstm":
                self.bridge.c_l0 = nn.Linear(2 * enc_hidden, dec_hidden)
        self.decoder = nn.Module()
        # a joint vocabulary (Vaswani et al. 2017, 3.4): the decoder's embedding is the encoder's module
        self.decoder.embedding = self.encoder.embedding if shared else nn.Embedding(tgt_vocab, tgt_dim)
        # input feeding: the decoder's recurrent input is [embedding; the attention's context of the step before]
        setattr(self.decoder, kind, rnn(tgt_dim + (2 * enc_hidden if feed else 0), dec_hidden, batch_first=True))
        q, m = dec_hidden, 2 * enc_hidden
        att = nn.Module()
        if score == "mha":
            # nn.MultiheadAttention over the encoder's outputs: kdim = vdim = M, output width Q
            att = nn.MultiheadAttention(q, heads, kdim=m, vdim=m, batch_first=True)
        elif score == "general":
            att.weight = nn.Parameter(torch.empty(q, m).uniform_(-1 / m ** 0.5, 1 / m ** 0.5))
        elif score == "additive":
            a = units or q
            att.query = nn.Linear(q, a)
            att.key = nn.Linear(m, a, bias=False)
            att.v = nn.Linear(a, 1, bias=False)
        self.decoder.attention = att
        width = q if score == "mha" else q + m
        if extra_dense:
            self.decoder.dense = nn.Linear(width, extra_dense)
            self.decoder.dense_1 = nn.Linear(extra_dense, tgt_vocab)
            if tied:  # Press and Wolf's translation models: the output layer's weight is the target embedding's table
                self.decoder.dense_1.weight = self.decoder.embedding.weight
        else:
            self.decoder.dense = nn.Linear(width, tgt_vocab)
        self.extra = extra_dense

    def encode(self, src, lengths):
        rnn = getattr(self.encoder, self.kind)
        packed = nn.utils.rnn.pack_padded_sequence(self.encoder.embedding(src), lengths, batch_first=True, enforce_sorted=False)
        out, final = rnn(packed)
        memory, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        finals = final if self.kind == "lstm" else (final,)
        states = [torch.cat([f[0], f[1]], dim=-1) for f in finals]  # [B, 2H]: forward then reverse
        if self.bridged:
            states[0] = torch.tanh(self.bridge.h_l0(states[0]))
            if self.kind == "lstm":
                states[1] = self.bridge.c_l0(states[1])
        state = tuple(s.unsqueeze(0).contiguous() for s in states)
        return memory, state if self.kind == "lstm" else state[0]

    def attend(self, q, memory, lengths):
        att, S = self.decoder.attention, memory.shape[1]
        pad = torch.arange(S).unsqueeze(0) >= lengths.unsqueeze(1)
        if self.score == "mha":
            out, weights = att(q, memory, memory, key_padding_mask=pad, need_weights=True, average_attn_weights=False)
            return out, weights  # [B, T, Q], [B, heads, T, S]
        if self.score in ("dot", "scaled"):
            scores = q @ memory.transpose(1, 2)
            if self.score == "scaled":
                scores = scores / q.shape[-1] ** 0.5
        elif self.score == "general":
            scores = q @ (memory @ att.weight.t()).transpose(1, 2)
        else:
            hidden = torch.tanh(att.query(q).unsqueeze(2) + att.key(memory).unsqueeze(1))
            scores = att.v(hidden).squeeze(-1)
        weights = torch.softmax(scores.masked_fill(pad.unsqueeze(1), float("-inf")), dim=-1)
        return torch.cat([q, weights @ memory], dim=-1), weights

    def decode(self, tokens, state, memory, lengths):
        if self.feed:
            # step by step: each step reads its token and the context the previous step attended to (zeros first)
            # (the state carries the last context from call to call, as a Dsl State does: zeros before the first step)
            emb, rnn = self.decoder.embedding(tokens), getattr(self.decoder, self.kind)
            state, ctx = state
            if ctx is None:
                ctx = torch.zeros(tokens.shape[0], 1, memory.shape[-1], dtype=memory.dtype)
            outs, ws = [], []
            for t in range(tokens.shape[1]):
                h, state = rnn(torch.cat([emb[:, t:t + 1], ctx], dim=-1), state)
                o, w = self.attend(h, memory, lengths)
                ctx = o[..., h.shape[-1]:]
                outs.append(o)
                ws.append(w)
            out, weights = torch.cat(outs, 1), torch.cat(ws, 1)
            state = (state, ctx)
        else:
            h, state = getattr(self.decoder, self.kind)(self.decoder.embedding(tokens), state)
            out, weights = self.attend(h, memory, lengths)
        if self.extra:
            out = self.decoder.dense_1(torch.tanh(self.decoder.dense(out)))
        else:
            out = self.decoder.dense(out)
        return out, state, weights


def seq2seq_batch(B, S, T):
    """Sources of 10 tokens padded with 0 to S steps (lengths 5, 2, 4), decoder inputs and targets of 9 tokens over T
    steps, one target ignored (-100)."""
    lengths = torch.tensor([5, 2, 4])
    src = torch.randint(1, 10, (B, S))
    for b, n in enumerate(lengths.tolist()):
        src[b, n:] = 0
    dec_in = torch.randint(0, 9, (B, T))
    targets = torch.randint(0, 9, (B, T))
    targets[1, 3] = -100
    return src, lengths, dec_in, targets


def make_seq2seq(case, kind, score, free_running, seed, units=0, extra_dense=0, enc_hidden=3, dec_hidden=6, heads=1, feed=False, tied=False,
                 shared=False, tgt_vocab=9, tgt_dim=3):
    """One training step of an encoder-decoder on padded sources: teacher forcing (the decoder reads the given
    inputs), or free running (teacher-forcing ratio 0: after the first, every input is the previous step's argmax,
    step by step, detached). Weights, sources, lengths, decoder inputs, targets, logits, attention weights, loss, gradients."""
    torch.manual_seed(seed)
    model = Seq2Seq(kind, 10, 4, enc_hidden, tgt_vocab, tgt_dim, dec_hidden, score, units, extra_dense, heads, feed, tied, shared)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.5)
    save_safetensors(os.path.join(HERE, f"{case}.weights.safetensors"), {k: v.detach().clone().float() for k, v in model.state_dict().items()})
    model = model.double()
    B, S, T = 3, 5, 4
    src, lengths, dec_in, targets = seq2seq_batch(B, S, T)
    memory, state = model.encode(src, lengths)
    if feed:
        state = (state, None)
    if free_running:
        outs, weights, tokens, used = [], [], dec_in[:, :1], [dec_in[:, 0]]
        for t in range(T):
            out, state, w = model.decode(tokens, state, memory, lengths)
            outs.append(out)
            weights.append(w)
            tokens = out.argmax(-1).detach()
            used.append(tokens[:, 0])
        logits, attn, dec_used = torch.cat(outs, 1), torch.cat(weights, -2), torch.stack(used[:T], 1)
    else:
        logits, _, attn = model.decode(dec_in, state, memory, lengths)
        dec_used = dec_in
    loss = F.cross_entropy(logits.reshape(-1, tgt_vocab), targets.reshape(-1), ignore_index=-100)
    loss.backward()
    expected = {"source": src, "lengths": lengths, "decoder_input": dec_in, "decoder_used": dec_used, "targets": targets,
                "output": logits.float(), "attention": attn.float(), "loss": loss.reshape(1).float()}
    for name, p in model.named_parameters():
        expected["grad." + name] = p.grad.float()
    save_safetensors(os.path.join(HERE, f"{case}.expected.safetensors"), expected)
    print(f"{case}: loss {loss.item():.6f}")


def make_shared():
    """An LSTM encoder-decoder over a joint vocabulary: the decoder's embedding is the encoder's, and so is its output
    layer's weight (three uses of one table, their gradients added); and the Transformer so, its embeddings scaled."""
    make_seq2seq("Seq2SeqShared", "lstm", "general", False, 506, extra_dense=4, tied=True, shared=True, tgt_vocab=10, tgt_dim=4)
    make_transformer("TransformerSeq2SeqJoint", False, 516, joint=True)


class TransformerSeq2Seq(nn.Module):
    """nn.TransformerEncoderLayer + nn.TransformerDecoderLayer (ReLU, dropout 0, batch_first) between embeddings with
    sinusoidal positions and a Linear over the target vocabulary, masks from the source lengths (src_key_padding_mask,
    memory_key_padding_mask) and the causal tgt_mask. Pre-norm (norm_first) adds the final LayerNorm of
    nn.TransformerEncoder/Decoder(norm = LayerNorm) after each stack. Joint (Vaswani et al. 2017, 3.4, over a joint
    vocabulary): one table for the source embedding, the target embedding and the output layer's weight, the looked-up
    vectors multiplied by sqrt(width)."""

    def __init__(self, norm_first, width=8, heads=2, ff=16, src_vocab=10, tgt_vocab=9, joint=False):
        super().__init__()
        self.norm_first = norm_first
        self.scale = math.sqrt(width) if joint else 1.0
        tgt_vocab = src_vocab if joint else tgt_vocab
        self.src_embedding = nn.Embedding(src_vocab, width)
        self.tgt_embedding = self.src_embedding if joint else nn.Embedding(tgt_vocab, width)
        self.encoder_layer = nn.TransformerEncoderLayer(width, heads, ff, dropout=0.0, batch_first=True, norm_first=norm_first)
        self.decoder_layer = nn.TransformerDecoderLayer(width, heads, ff, dropout=0.0, batch_first=True, norm_first=norm_first)
        if norm_first:
            self.encoder_norm = nn.LayerNorm(width)
            self.decoder_norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, tgt_vocab)
        if joint:
            self.out.weight = self.src_embedding.weight

    def encode(self, src, lengths):
        x = self.src_embedding(src) * self.scale
        x = x + positional_encoding(x.shape[1], x.shape[2], x.dtype)
        pad = torch.arange(src.shape[1]).unsqueeze(0) >= lengths.unsqueeze(1)
        memory = self.encoder_layer(x, src_key_padding_mask=pad)
        return (self.encoder_norm(memory) if self.norm_first else memory), pad

    def decode(self, tokens, memory, pad):
        y = self.tgt_embedding(tokens) * self.scale
        T = y.shape[1]
        y = y + positional_encoding(T, y.shape[2], y.dtype)
        causal = torch.triu(torch.full((T, T), float("-inf"), dtype=y.dtype), diagonal=1)
        y = self.decoder_layer(y, memory, tgt_mask=causal, memory_key_padding_mask=pad)
        return self.out(self.decoder_norm(y) if self.norm_first else y)

    def dsl_names(self):
        """PyTorch's parameter names -> those of the declared [EncoderDecoder] (Models/TransformerModels.cs)."""
        if self.norm_first:
            enc = {"encoder_layer.norm1": "layernorm", "encoder_layer.self_attn": "attention", "encoder_layer.norm2": "layernorm_1",
                   "encoder_layer.linear1": "dense", "encoder_layer.linear2": "dense_1", "encoder_norm": "layernorm_2"}
            dec = {"decoder_layer.norm1": "layernorm", "decoder_layer.self_attn": "attention", "decoder_layer.norm2": "layernorm_1",
                   "decoder_layer.multihead_attn": "attention_1", "decoder_layer.norm3": "layernorm_2", "decoder_layer.linear1": "dense",
                   "decoder_layer.linear2": "dense_1", "decoder_norm": "layernorm_3", "out": "dense_2"}
        else:
            enc = {"encoder_layer.self_attn": "attention", "encoder_layer.norm1": "layernorm", "encoder_layer.linear1": "dense",
                   "encoder_layer.linear2": "dense_1", "encoder_layer.norm2": "layernorm_1"}
            dec = {"decoder_layer.self_attn": "attention", "decoder_layer.norm1": "layernorm", "decoder_layer.multihead_attn": "attention_1",
                   "decoder_layer.norm2": "layernorm_1", "decoder_layer.linear1": "dense", "decoder_layer.linear2": "dense_1",
                   "decoder_layer.norm3": "layernorm_2", "out": "dense_2"}
        names = {}
        for name, _ in self.named_parameters():
            if name.startswith("src_embedding."):
                names[name] = "encoder.embedding." + name.split(".", 1)[1]
                continue
            if name.startswith("tgt_embedding."):
                names[name] = "decoder.embedding." + name.split(".", 1)[1]
                continue
            for table, part in ((enc, "encoder"), (dec, "decoder")):
                for prefix, dsl in table.items():
                    if name.startswith(prefix + "."):
                        names[name] = f"{part}.{dsl}.{name[len(prefix) + 1:]}"
        assert len(names) == len(list(self.parameters())), "every parameter has a Dsl name"
        return names


def make_transformer(case, norm_first, seed, start=1, max_length=7, smoothing=0.0, joint=False):
    """A training step of the Transformer encoder-decoder on padded sources (teacher forcing): weights, sources, lengths,
    decoder inputs, targets, logits, cross-attention weights, loss, gradients; then greedy decoding of each source by
    full recompute (the whole prefix decoded again at every step) with each step's logits, which Dsl's cached stepping
    must reproduce."""
    torch.manual_seed(seed)
    model = TransformerSeq2Seq(norm_first, joint=joint)
    vocab = model.out.out_features
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))  # norms and biases away from their 1 / 0 initial values
            p.mul_(1.5)
    names = model.dsl_names()
    save_safetensors(os.path.join(HERE, f"{case}.weights.safetensors"), {names[k]: v.detach().clone().float() for k, v in model.named_parameters()})
    model = model.double().train()  # train(): torch 1.13's fast inference path would skip padded steps differently; dropout is 0
    B, S, T = 3, 5, 4
    src, lengths, dec_in, targets = seq2seq_batch(B, S, T)
    memory, pad = model.encode(src, lengths)
    logits = model.decode(dec_in, memory, pad)
    loss = F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), ignore_index=-100, label_smoothing=smoothing)
    loss.backward()
    expected = {"source": src, "lengths": lengths, "decoder_input": dec_in, "targets": targets, "output": logits.float(), "loss": loss.reshape(1).float()}
    if smoothing:
        expected["label_smoothing"] = torch.tensor([smoothing], dtype=torch.float32)
    for name, p in model.named_parameters():
        expected["grad." + names[name]] = p.grad.float()
    with torch.no_grad():
        for b, n in enumerate(lengths.tolist()):
            one = src[b:b + 1, :n]
            memory, pad = model.encode(one, torch.tensor([n]))
            tokens, steps = [start], []
            for _ in range(max_length):
                step = model.decode(torch.tensor([tokens]), memory, pad)[0, -1]
                top = torch.topk(step, 2).values
                assert top[0] - top[1] > 1e-4, "greedy decoding must not hinge on a near tie"
                tokens.append(int(step.argmax()))
                steps.append(step)
            expected[f"greedy_{b}"] = torch.tensor(tokens[1:])
            expected[f"greedy_logits_{b}"] = torch.stack(steps).float()  # each step's logits, the prefix recomputed
    save_safetensors(os.path.join(HERE, f"{case}.expected.safetensors"), expected)
    print(f"{case}: loss {loss.item():.6f}, greedy {[expected[f'greedy_{b}'].tolist() for b in range(B)]}")


def make_label_smoothing():
    """Cross-entropy with label smoothing (F.cross_entropy(label_smoothing=ε), ignore_index=-100): the loss and its gradient
    for logits [10, 7] (one row shifted by 40, two targets ignored) at three ε, in label_smoothing.safetensors; a training
    step of the Lstm case's model (LstmSmoothed, ε = 0.2) and of the post-norm Transformer (TransformerSeq2SeqSmoothed,
    ε = 0.1, as Vaswani et al. trained theirs)."""
    torch.manual_seed(530)
    logits = torch.randn(10, 7, dtype=torch.float64) * 3
    logits[4] += 40
    targets = torch.randint(0, 7, (10,))
    targets[2] = targets[7] = -100
    smoothing = [0.1, 0.35, 1.0]
    tensors = {"logits": logits.float(), "targets": targets, "smoothing": torch.tensor(smoothing, dtype=torch.float32)}
    for i, eps in enumerate(smoothing):
        z = logits.float().double().requires_grad_()  # the float logits the test reads, in double
        loss = F.cross_entropy(z, targets, ignore_index=-100, label_smoothing=eps)
        loss.backward()
        tensors[f"loss_{i}"] = loss.reshape(1).float()
        tensors[f"grad_{i}"] = z.grad.float()
    save_safetensors(os.path.join(HERE, "label_smoothing.safetensors"), tensors)
    print("label_smoothing:", [round(tensors[f"loss_{i}"].item(), 6) for i in range(len(smoothing))])
    make("LstmSmoothed", [("embedding", 11, 5), ("lstm", 7), ("dense", 11)], 3, 5, "ce", seed=530, smoothing=0.2)
    make_transformer("TransformerSeq2SeqSmoothed", False, 531, smoothing=0.1)


def make_input_feeding():
    """Input feeding: Bahdanau's (GRU, additive score) and Luong's (LSTM, general score, a bridge) decoders read the
    previous step's context beside their token."""
    make_seq2seq("Seq2SeqFeedAdditive", "gru", "additive", False, 520, units=7, extra_dense=6, enc_hidden=4, dec_hidden=5, feed=True)
    make_seq2seq("Seq2SeqFeedGeneral", "lstm", "general", False, 521, dec_hidden=5, feed=True)
    make_seq2seq("Seq2SeqFeedDotFreeRunning", "lstm", "dot", True, 522, feed=True)


def make_stateful(case, layers, batch, steps, loss, seed):
    """A model whose recurrent layer starts from a given state (h0, c0 that need no gradient, as after
    detach() in truncated BPTT): weights, inputs, the initial and final states, output, loss, gradients."""
    model = new_model(case, layers, seed)
    name, spec = next((n, sp) for n, sp in model.plan if sp[0] in ("rnn", "lstm", "gru"))
    layers_count = (spec[2] if len(spec) > 2 else {}).get("layers", 1)
    H = spec[1]
    h0 = torch.randn(layers_count, batch, (spec[2] if len(spec) > 2 else {}).get("proj") or H) * 0.5
    c0 = torch.randn(layers_count, batch, H) * 0.5
    first = layers[0]
    x = torch.randint(0, first[1], (batch, steps)) if first[0] == "embedding" else torch.randn(batch, steps, first[1])
    model = model.double()
    initial = (h0.double(), c0.double()) if spec[0] == "lstm" else h0.double()
    out = model(x if first[0] == "embedding" else x.double(), {name: initial})
    classes = out.shape[-1]
    if loss == "ce":
        targets = torch.randint(0, classes, out.shape[:-1])
        value = F.cross_entropy(out.reshape(-1, classes), targets.reshape(-1))
    else:
        targets = torch.randn(out.shape)
        value = F.mse_loss(out, targets.double())
    value.backward()
    expected = {"input": x, "targets": targets if loss == "ce" else targets.float(), "output": out.float(), "loss": value.reshape(1).float()}
    final = model.finals[name]
    hn, cn = final if spec[0] == "lstm" else (final, None)
    for l in range(layers_count):
        expected[f"initial.{name}.h_l{l}"] = h0[l]
        expected[f"final.{name}.h_l{l}"] = hn[l].float()
        if spec[0] == "lstm":
            expected[f"initial.{name}.c_l{l}"] = c0[l]
            expected[f"final.{name}.c_l{l}"] = cn[l].float()
    for pname, p in model.named_parameters():
        expected["grad." + pname] = p.grad.float()
    save_safetensors(os.path.join(HERE, f"{case}.expected.safetensors"), expected)
    print(f"{case}: loss {value.item():.6f} from a given state")


# nn.LSTM(proj_size = P): h = (o ⊙ tanh(c))·W_hrᵀ, P wide; stacked, bidirectional, many-to-one, padded, from a given state.
PROJECTION = [
    ("LstmProjection", [("embedding", 9, 4), ("lstm", 6, {"proj": 3}), ("dense", 9)], 3, 5, "ce"),
    ("LstmProjectionStackedBidirectional", [("input", 3), ("lstm", 7, {"layers": 2, "bidirectional": True, "proj": 4}), ("dense", 3)], 2, 5, "mse"),
    ("LstmProjectionWide", [("input", 5), ("lstm", 37, {"proj": 19, "bidirectional": True, "return_sequences": False}), ("dense", 2)], 4, 6, "mse"),
]


def make_projection():
    for i, (case, layers, batch, steps, loss) in enumerate(PROJECTION):
        make(case, layers, batch, steps, loss, seed=600 + i)
    make_masked("MaskedLstmProjection", [("embedding", 9, 4), ("lstm", 6, {"layers": 2, "bidirectional": True, "proj": 3}), ("dense", 9)], [6, 3, 1, 5], "ce", 610)
    make_stateful("StatefulLstmProjection", [("embedding", 11, 5), ("lstm", 9, {"layers": 2, "proj": 5}), ("dense", 11)], 3, 5, "ce", 611)


STATEFUL = [
    ("StatefulLstm", [("embedding", 11, 5), ("lstm", 19, {"layers": 2}), ("dense", 11)], 3, 5, "ce"),
    ("StatefulGru", [("input", 4), ("gru", 17), ("dense", 3)], 2, 6, "mse"),
    ("StatefulGruCho", [("input", 3), ("gru", 9, {"reset_after": False}), ("dense", 2)], 3, 4, "mse"),
    ("StatefulRnn", [("embedding", 6, 3), ("rnn", 9, {"layers": 2}), ("dense", 6)], 2, 5, "ce"),
]


def make_masked(case, layers, lengths, loss, seed):
    """Padded sequences of the given lengths through pack_padded_sequence: weights, inputs, lengths, output
    (zeros at padded steps), loss (padded targets ignored) and gradients."""
    model = new_model(case, layers, seed)
    batch, steps = len(lengths), max(lengths)
    first = layers[0]
    if first[0] == "embedding":
        x = torch.randint(1, first[1], (batch, steps))
        for b, n in enumerate(lengths):
            x[b, n:] = 0
    else:
        x = torch.randn(batch, steps, first[1])
    model = model.double()
    out = model(x if first[0] == "embedding" else x.double(), lengths=torch.tensor(lengths))
    classes = out.shape[-1]
    if loss == "ce":
        targets = torch.randint(0, classes, out.shape[:-1])
        if targets.dim() == 2:
            for b, n in enumerate(lengths):
                targets[b, n:] = -100
        value = F.cross_entropy(out.reshape(-1, classes), targets.reshape(-1), ignore_index=-100)
    else:
        targets = torch.randn(out.shape)
        value = F.mse_loss(out, targets.double())
    value.backward()
    expected = {"input": x, "lengths": torch.tensor(lengths), "targets": targets if loss == "ce" else targets.float(),
                "output": out.float(), "loss": value.reshape(1).float()}
    for pname, p in model.named_parameters():
        expected["grad." + pname] = p.grad.float()
    save_safetensors(os.path.join(HERE, f"{case}.expected.safetensors"), expected)
    print(f"{case}: lengths {lengths}, loss {value.item():.6f}")


def make_tbptt(case, layers, batch, steps, k1, k2, lr, seed):
    """Truncated BPTT with k1 < k2 (Dsl.TruncatedBptt's definition): every k1 steps, backward over the last k2
    steps from the state the forward passes computed (detached), loss on the last k1 steps, then SGD."""
    model = new_model(case, layers, seed)
    model = model.double()
    name, spec = next((n, sp) for n, sp in model.plan if sp[0] in ("rnn", "lstm", "gru"))
    H, classes = spec[1], layers[-1][1]
    x = torch.randint(0, layers[0][1], (batch, steps))
    y = torch.randint(0, classes, (batch, steps))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    zeros = torch.zeros(1, batch, H, dtype=torch.float64)
    known = (zeros, zeros.clone()) if spec[0] == "lstm" else zeros
    losses = []
    for chunk_start in range(0, steps, k1):
        chunk_end = min(steps, chunk_start + k1)
        ws = max(0, chunk_end - k2)
        out = model(x[:, ws:chunk_end], {name: known})
        final = model.finals[name]
        target = y[:, ws:chunk_end].clone()
        target[:, :chunk_start - ws] = -100
        loss = F.cross_entropy(out.reshape(-1, classes), target.reshape(-1), ignore_index=-100)
        loss.backward()
        losses.append(loss.item())
        nws = max(0, min(steps, chunk_end + k1) - k2)
        with torch.no_grad():
            if nws == chunk_end:
                known = tuple(t.detach() for t in final) if spec[0] == "lstm" else final.detach()
            elif nws > ws:
                model(x[:, ws:nws], {name: known})
                f = model.finals[name]
                known = tuple(t.detach() for t in f) if spec[0] == "lstm" else f.detach()
        opt.step()
        opt.zero_grad()
    expected = {"input": x, "targets": y, "loss": torch.tensor([sum(losses) / len(losses)], dtype=torch.float32)}
    for pname, p in model.named_parameters():
        expected["trained." + pname] = p.detach().float()
    save_safetensors(os.path.join(HERE, f"{case}.expected.safetensors"), expected)
    print(f"{case}: {len(losses)} windows, mean loss {sum(losses) / len(losses):.6f}")


def make_stream(case, layers, tokens, batch, bptt, valid_tokens, valid_batch, epochs, optimizer, clip, seed):
    """Stateful training over one token stream, as PyTorch's word_language_model example (main.py) trains: batchify cuts
    the corpus into `batch` contiguous streams (the remainder dropped), get_batch reads `bptt` steps of each (the last batch
    shorter) with the next tokens as targets, the hidden state is carried from batch to batch detached (repackage_hidden)
    and starts from zeros each epoch; gradients clipped (clip_grad_norm_), then the optimiser steps. Each epoch ends with
    evaluate() over a validation stream, its state carried too. Records every batch's loss, each epoch's mean (over
    targets), the validation loss and accuracy, and the trained weights."""
    model = new_model(case, layers, seed).double()
    name, spec = next((n, sp) for n, sp in model.plan if sp[0] in ("rnn", "lstm", "gru"))
    depth, H, V = (spec[2] if len(spec) > 2 else {}).get("layers", 1), spec[1], layers[0][1]
    corpus = torch.randint(0, V, (tokens,))
    valid = torch.randint(0, V, (valid_tokens,))
    opt = optimizer(model.parameters())

    def batchify(data, bsz):  # [bsz, L]: stream b is the b-th contiguous piece (main.py's data.view(bsz, -1).t(), batch-first)
        n = data.size(0) // bsz
        return data[:n * bsz].view(bsz, n)

    def zeros(bsz):
        z = torch.zeros(depth, bsz, H, dtype=torch.float64)
        return (z, z.clone()) if spec[0] == "lstm" else z

    def detach(h):
        return tuple(t.detach() for t in h) if isinstance(h, tuple) else h.detach()

    def run(data, hidden):
        out = model(data, {name: hidden})
        return out, model.finals[name]

    train, held = batchify(corpus, batch), batchify(valid, valid_batch)
    batch_losses, epoch_losses, valid_losses, valid_accuracies = [], [], [], []
    for epoch in range(epochs):
        hidden, total, count = zeros(batch), 0.0, 0
        for i in range(0, train.size(1) - 1, bptt):
            n = min(bptt, train.size(1) - 1 - i)
            x, y = train[:, i:i + n], train[:, i + 1:i + 1 + n]
            hidden = detach(hidden)
            opt.zero_grad()
            out, hidden = run(x, hidden)
            loss = F.cross_entropy(out.reshape(-1, V), y.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            batch_losses.append(loss.item())
            total += loss.item() * y.numel()
            count += y.numel()
        epoch_losses.append(total / count)
        with torch.no_grad():
            hidden, total, right, count = zeros(valid_batch), 0.0, 0, 0
            for i in range(0, held.size(1) - 1, bptt):
                n = min(bptt, held.size(1) - 1 - i)
                x, y = held[:, i:i + n], held[:, i + 1:i + 1 + n]
                out, hidden = run(x, hidden)
                total += F.cross_entropy(out.reshape(-1, V), y.reshape(-1), reduction="sum").item()
                right += (out.argmax(-1) == y).sum().item()
                count += y.numel()
            valid_losses.append(total / count)
            valid_accuracies.append(right / count)
    f = lambda v: torch.tensor(v, dtype=torch.float32)
    expected = {"corpus": corpus, "valid": valid, "batch_losses": f(batch_losses), "epoch_losses": f(epoch_losses),
                "valid_losses": f(valid_losses), "valid_accuracies": f(valid_accuracies)}
    for pname, p in model.named_parameters():
        expected["trained." + pname] = p.detach().float()
    save_safetensors(os.path.join(HERE, f"{case}.expected.safetensors"), expected)
    print(f"{case}: {len(batch_losses)} batches, epoch losses {epoch_losses}, validation {valid_losses}")


def make_feature_stream(case, layers, steps_total, batch, bptt, valid_steps, valid_batch, epochs, classes, optimizer, clip, seed):
    """Stateful training over one series of feature vectors (Keras's stateful=True; word_language_model's loop on floats):
    the series cut into `batch` contiguous streams (the remainder dropped), read `bptt` steps at a time with the target of
    each step given (a value vector: MSE, or a class id: cross-entropy), the state carried detached and zero at each epoch's
    start, clip_grad_norm_, then the optimiser. Validation over its own series, its state carried; records every batch's
    loss, each epoch's mean (over targets), the validation loss (and accuracy for classes) and the trained weights."""
    model = new_model(case, layers, seed).double()
    name, spec = next((n, sp) for n, sp in model.plan if sp[0] in ("rnn", "lstm", "gru"))
    F_, H, W = layers[0][1], spec[1], layers[-1][1]
    x_all, v_all = torch.randn(steps_total, F_), torch.randn(valid_steps, F_)
    y_all = torch.randint(0, W, (steps_total,)) if classes else torch.randn(steps_total, W)
    vy_all = torch.randint(0, W, (valid_steps,)) if classes else torch.randn(valid_steps, W)
    opt = optimizer(model.parameters())

    def streams(data, bsz):  # [bsz, L, ...]: stream b is the b-th contiguous piece
        n = data.size(0) // bsz
        return data[:n * bsz].reshape(bsz, n, *data.shape[1:])

    def zeros(bsz):
        z = torch.zeros(1, bsz, H, dtype=torch.float64)
        return (z, z.clone()) if spec[0] == "lstm" else z

    def detach(h):
        return tuple(t.detach() for t in h) if isinstance(h, tuple) else h.detach()

    def loss_of(out, y, reduction="mean"):
        return F.cross_entropy(out.reshape(-1, W), y.reshape(-1), reduction=reduction) if classes else F.mse_loss(out, y.double(), reduction=reduction)

    X, Y, VX, VY = streams(x_all, batch).double(), streams(y_all, batch), streams(v_all, valid_batch).double(), streams(vy_all, valid_batch)
    batch_losses, epoch_losses, valid_losses, valid_accuracies = [], [], [], []
    for epoch in range(epochs):
        hidden, total, count = zeros(batch), 0.0, 0
        for i in range(0, X.size(1), bptt):
            n = min(bptt, X.size(1) - i)
            hidden = detach(hidden)
            opt.zero_grad()
            out = model(X[:, i:i + n], {name: hidden})
            hidden = model.finals[name]
            loss = loss_of(out, Y[:, i:i + n])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            batch_losses.append(loss.item())
            total += loss.item() * batch * n
            count += batch * n
        epoch_losses.append(total / count)
        with torch.no_grad():
            hidden, total, right, count = zeros(valid_batch), 0.0, 0, 0
            for i in range(0, VX.size(1), bptt):
                n = min(bptt, VX.size(1) - i)
                out = model(VX[:, i:i + n], {name: hidden})
                hidden = model.finals[name]
                y = VY[:, i:i + n]
                total += loss_of(out, y, "sum").item()
                if classes:
                    right += (out.argmax(-1) == y).sum().item()
                count += y.numel()
            valid_losses.append(total / count)
            valid_accuracies.append(right / count)
    f = lambda v: torch.tensor(v, dtype=torch.float32)
    expected = {"inputs": x_all, "targets": y_all if classes else y_all.float(), "valid_inputs": v_all, "valid_targets": vy_all if classes else vy_all.float(),
                "batch_losses": f(batch_losses), "epoch_losses": f(epoch_losses), "valid_losses": f(valid_losses), "valid_accuracies": f(valid_accuracies)}
    for pname, p in model.named_parameters():
        expected["trained." + pname] = p.detach().float()
    save_safetensors(os.path.join(HERE, f"{case}.expected.safetensors"), expected)
    print(f"{case}: {len(batch_losses)} batches, epoch losses {epoch_losses}, validation {valid_losses}")


def make_streams():
    make_stream("StreamLstm", [("embedding", 11, 5), ("lstm", 7, {"layers": 2}), ("dense", 11)], 203, 4, 8, 61, 3, 2,
                lambda ps: torch.optim.SGD(ps, lr=0.5, momentum=0.5), 0.5, 310)
    make_stream("StreamGru", [("embedding", 9, 4), ("gru", 6), ("dense", 9)], 150, 3, 7, 45, 2, 3,
                lambda ps: torch.optim.Adam(ps, lr=0.02), 1.0, 311)
    make_feature_stream("FeatureStreamLstm", [("input", 3), ("lstm", 5), ("dense", 2)], 157, 4, 6, 50, 3, 2, False,
                        lambda ps: torch.optim.Adam(ps, lr=0.02), 1.0, 312)
    make_feature_stream("FeatureStreamGru", [("input", 4), ("gru", 6), ("dense", 3)], 120, 3, 7, 45, 2, 2, True,
                        lambda ps: torch.optim.SGD(ps, lr=0.3), 0.5, 313)


OPTIMIZERS = {
    # name: (constructor, the C# optimiser it checks: Dsl.Tests/Runtime/OptimizerTests.cs)
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
    "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True),
    "sgd_dampening": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.7, dampening=0.3),
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.01),
    "adam_l2": lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.05),
    "adam_amsgrad": lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True),
    "adamw_amsgrad": lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.9, 0.95), weight_decay=0.05, amsgrad=True),
    "adagrad": lambda ps: torch.optim.Adagrad(ps, lr=0.1),
    "adagrad_decay": lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6),
    "rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=0.01),
    "rmsprop_centered_momentum": lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01),
    # maximize=True: each ascends the gradient
    "sgd_maximize": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01, maximize=True),
    "adam_maximize": lambda ps: torch.optim.Adam(ps, lr=0.02, weight_decay=0.1, maximize=True),
    "adamw_maximize": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.05, amsgrad=True, maximize=True),
    "adagrad_maximize": lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.05, weight_decay=0.1, maximize=True),
    "rmsprop_maximize": lambda ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True, weight_decay=0.01, maximize=True),
}


def make_optimizers(steps=5):
    torch.manual_seed(7)
    start = torch.randn(3, 4)
    grads = [torch.randn(3, 4) for _ in range(steps)]
    out = {"param": start}
    for k, g in enumerate(grads):
        out[f"grad.{k}"] = g
    for name, make_opt in OPTIMIZERS.items():
        p = nn.Parameter(start.clone())
        opt = make_opt([p])
        for k, g in enumerate(grads):
            p.grad = g.clone()
            opt.step()
            out[f"{name}.step{k + 1}"] = p.detach().clone()
    # learning-rate schedules: the rate before each of 12 steps
    schedules = {
        "step_lr": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
        "exponential_lr": lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
        "cosine_lr": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.001),
        "linear_warmup": lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4),
        "warm_restarts": lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
        "warm_restarts_flat": lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=4),
        "polynomial": lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=5, power=2.0),
    }
    for name, make_schedule in schedules.items():
        opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
        schedule, rates = make_schedule(opt), []
        for _ in range(12):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            schedule.step()
        out[f"schedule.{name}"] = torch.tensor(rates, dtype=torch.float32)
    # clip_grad_norm_ over two tensors, 2-norm and max-norm
    for norm_type, tag in ((2.0, "l2"), (float("inf"), "inf")):
        a, b = nn.Parameter(torch.zeros(3, 4)), nn.Parameter(torch.zeros(5))
        a.grad, b.grad = grads[0].clone(), torch.randn(5) * 3
        out[f"clip_{tag}.b_before"] = b.grad.clone()
        total = torch.nn.utils.clip_grad_norm_([a, b], max_norm=0.5, norm_type=norm_type)
        out[f"clip_{tag}.norm"] = total.reshape(1)
        out[f"clip_{tag}.a"], out[f"clip_{tag}.b"] = a.grad, b.grad
    save_safetensors(os.path.join(HERE, "optimizers.safetensors"), out)
    print(f"optimizers: {len(OPTIMIZERS)} configurations, {steps} steps")


GROUPED = {
    # name: torch.optim over [{'params': [w]}, {'params': [b], 'lr': 0.01, 'weight_decay': 0}, {'params': [c], 'weight_decay': 0.3}]
    # with the optimiser's own lr and weight_decay for w (Dsl.Tests/Runtime/ParameterGroupTests.cs)
    "sgd": lambda gs: torch.optim.SGD(gs, lr=0.05, momentum=0.9, weight_decay=0.1),
    "adam": lambda gs: torch.optim.Adam(gs, lr=0.02, weight_decay=0.1),
    "adamw": lambda gs: torch.optim.AdamW(gs, lr=0.02, weight_decay=0.1, amsgrad=True),
    "adagrad": lambda gs: torch.optim.Adagrad(gs, lr=0.1, lr_decay=0.05, weight_decay=0.1),
    "rmsprop": lambda gs: torch.optim.RMSprop(gs, lr=0.01, momentum=0.5, centered=True, weight_decay=0.1),
}


def make_parameter_groups(steps=5):
    """Parameter groups with rates and weight decays of their own (the optimiser's, 0 and 0.3; the optimiser's rate and
    0.01) over three tensors: each tensor after each of five steps on the same gradients; and schedules over three groups
    (rates 0.1, 0.02, 0.5): each group's rate before each of 12 steps. Into parameter_groups.safetensors."""
    torch.manual_seed(8)
    shapes = {"w": (3, 4), "b": (4,), "c": (2, 3)}
    start = {k: torch.randn(*shape) for k, shape in shapes.items()}
    grads = [{k: torch.randn(*shape) for k, shape in shapes.items()} for _ in range(steps)]
    out = {f"{k}.start": v for k, v in start.items()}
    for i, g in enumerate(grads):
        out.update({f"{k}.grad{i}": v for k, v in g.items()})
    for name, make_opt in GROUPED.items():
        p = {k: nn.Parameter(v.clone()) for k, v in start.items()}
        opt = make_opt([{"params": [p["w"]]}, {"params": [p["b"]], "lr": 0.01, "weight_decay": 0.0}, {"params": [p["c"]], "weight_decay": 0.3}])
        for i, g in enumerate(grads):
            for k in p:
                p[k].grad = g[k].clone()
            opt.step()
            out.update({f"{name}.{k}.step{i + 1}": v.detach().clone() for k, v in p.items()})
    S = torch.optim.lr_scheduler
    schedules = {
        "step_lr": lambda o: [S.StepLR(o, step_size=3, gamma=0.5)],
        "exponential_lr": lambda o: [S.ExponentialLR(o, gamma=0.9)],
        "cosine_lr": lambda o: [S.CosineAnnealingLR(o, T_max=5, eta_min=0.001)],
        "linear_warmup": lambda o: [S.LinearLR(o, start_factor=0.25, total_iters=4)],
        "warmup_and_cosine": lambda o: [S.LinearLR(o, start_factor=0.25, total_iters=4), S.CosineAnnealingLR(o, T_max=8, eta_min=0.001)],
    }
    for name, make_schedules in schedules.items():
        opt = torch.optim.SGD([{"params": [nn.Parameter(torch.zeros(1))]}, {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.02},
                               {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.5}], lr=0.1)
        made, rates = make_schedules(opt), []
        for _ in range(12):
            rates.append([g["lr"] for g in opt.param_groups])
            opt.step()
            for schedule in made:
                schedule.step()
        out[f"schedule.{name}"] = torch.tensor(rates, dtype=torch.float32)
    save_safetensors(os.path.join(HERE, "parameter_groups.safetensors"), out)
    print(f"parameter groups: {len(GROUPED)} optimisers, {steps} steps")


def make_plateau():
    """ReduceLROnPlateau over three groups (rates 0.1, 0.02, 0.5) fed a fixed series of metrics (a NaN among them): every
    group's rate after each step, per configuration, into plateau.safetensors."""
    metrics = torch.tensor([1.0, 0.9, 0.95, 0.91, 0.92, 0.89, 0.895, 0.9, 0.85, 0.86, 0.87, 0.88, 0.84, 0.845, 0.846,
                            0.847, 0.80, 0.81, float("nan"), 0.82, 0.83, 0.84, 0.85, 0.79], dtype=torch.float32)
    configurations = {
        # name: ReduceLROnPlateau's arguments (Dsl.Tests/Runtime/PlateauTests.cs builds the same)
        "min_rel": dict(mode="min", factor=0.5, patience=2, threshold=0.01, cooldown=1, min_lr=0.004),
        "min_abs": dict(mode="min", factor=0.3, patience=1, threshold=0.02, threshold_mode="abs", eps=1e-3),
        "max_rel": dict(mode="max", factor=0.1, patience=0, threshold=0.0),
        "max_abs": dict(mode="max", factor=0.5, patience=1, threshold=0.01, threshold_mode="abs", cooldown=2, min_lr=[0.05, 0.001, 0.2]),
        "defaults": dict(),
    }
    out = {"metrics": metrics}
    for name, kwargs in configurations.items():
        opt = torch.optim.SGD([{"params": [nn.Parameter(torch.zeros(1))]}, {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.02},
                               {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.5}], lr=0.1)
        plateau, rates = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs), []
        for m in metrics.tolist():
            opt.step()
            plateau.step(m)
            rates.append([g["lr"] for g in opt.param_groups])
        out[f"plateau.{name}"] = torch.tensor(rates, dtype=torch.float32)
    save_safetensors(os.path.join(HERE, "plateau.safetensors"), out)
    print(f"plateau: {len(configurations)} configurations, {len(metrics)} steps")


def make_schedules():
    """Schedules in torch's chainable form: two stepped over one optimiser (they compose), and a rate set by hand part-way
    (the next step starts from it): the rate before each step, into schedules.safetensors."""
    S = torch.optim.lr_scheduler
    cases = {
        # name: (schedules built in order over SGD(lr=0.1), steps, {step index: rate set by hand before it})
        "exponential_and_step": (lambda o: [S.ExponentialLR(o, gamma=0.9), S.StepLR(o, step_size=2, gamma=0.1)], 12, {}),
        "warmup_and_cosine": (lambda o: [S.LinearLR(o, start_factor=0.25, total_iters=4), S.CosineAnnealingLR(o, T_max=6, eta_min=0.001)], 16, {}),
        "cosine_by_hand": (lambda o: [S.CosineAnnealingLR(o, T_max=5, eta_min=0.001)], 23, {7: 0.05}),
    }
    out = {}
    for name, (make_schedules_for, steps, by_hand) in cases.items():
        opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
        schedules, rates = make_schedules_for(opt), []
        for i in range(steps):
            if i in by_hand:
                opt.param_groups[0]["lr"] = by_hand[i]
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            for s in schedules:
                s.step()
        out[f"schedule.{name}"] = torch.tensor(rates, dtype=torch.float32)
    save_safetensors(os.path.join(HERE, "schedules.safetensors"), out)
    print(f"schedules: {len(cases)} cases")


def make_half_precision():
    """RnnTanh's state_dict saved by torch in float16 and bfloat16 (what `model.half()` / `model.bfloat16()` then a
    save gives), and the float32 values torch converts them back to; plus special values (signed zeros, the largest
    and smallest normal and subnormal numbers, infinities, NaN) in each type with their float32 conversions."""
    torch.manual_seed(600)
    model = Stack([("embedding", 7, 4), ("rnn", 5), ("dense", 7)])
    state = {k: (v * 1.5).detach() for k, v in model.state_dict().items()}
    expected = {}
    for tag, dtype in (("F16", torch.float16), ("BF16", torch.bfloat16)):
        low = {k: v.to(dtype) for k, v in state.items()}
        save_safetensors(os.path.join(HERE, f"HalfPrecision.{tag}.safetensors"), low)
        for k, v in low.items():
            expected[f"{tag}.{k}"] = v.float()
    f16 = torch.tensor([0.0, -0.0, 1.0, -1.0, 0.1, -3.140625, 65504.0, -65504.0, 6.103515625e-05, 5.960464477539063e-08,
                        -1.1920928955078125e-07, 1e-3, float("inf"), float("-inf"), float("nan")], dtype=torch.float16)
    bf16 = torch.tensor([0.0, -0.0, 1.0, -1.0, 0.1, -3.140625, 3.3895313892515355e+38, -3.3895313892515355e+38,
                         1.1754943508222875e-38, 9.183549615799121e-41, -1e-39, 1e-3, float("inf"), float("-inf"), float("nan")],
                        dtype=torch.bfloat16)
    expected["special.F16"], expected["special.F16.float"] = f16, f16.float()
    expected["special.BF16"], expected["special.BF16.float"] = bf16, bf16.float()
    save_safetensors(os.path.join(HERE, "HalfPrecision.expected.safetensors"), expected)
    print("half precision: F16 and BF16 state_dicts, special values")


def make_int8_weights():
    """Weights quantized to 8 bits per output row as PyTorch's per-channel symmetric observer and quantize_per_channel do
    (scale = max|w| of the row / 127.5, at least float32's epsilon; q = round(w / scale), ties to even, clamped to
    [-128, 127]; dequantized q · scale): the table Parameters.HoldWeightsIn(Precision.Int8) must give. Rows of every
    kind: random, all zero, one large value, negative extremes, values far below the epsilon's scale, exact halves."""
    from torch.ao.quantization.observer import PerChannelMinMaxObserver
    torch.manual_seed(700)
    w = torch.randn(9, 37) * torch.logspace(-3, 2, 9).unsqueeze(1)
    w[1] = 0.0
    w[2] = 0.0
    w[2, 5] = 3.0
    w[3] = -torch.rand(37) * 5
    w[4] = torch.randn(37) * 1e-9
    w[5] = (torch.arange(37, dtype=torch.float32) - 18) * 0.5
    w[5, 0] = -127.5
    w[6, :4] = torch.tensor([2.0, -2.0, 1e30, -1e30])
    observer = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    observer(w)
    scale, zero = observer.calculate_qparams()
    q = torch.quantize_per_channel(w, scale.double(), zero, 0, torch.qint8)
    save_safetensors(os.path.join(HERE, "Int8Weights.expected.safetensors"), {
        "weight": w, "scale": scale.float(), "q": q.int_repr().float(), "dequantized": q.dequantize()})
    print("int8 weights: per-channel symmetric quantization")


class HfRmsNorm(nn.Module):
    """transformers' LlamaRMSNorm: weight * x / sqrt(mean(x^2) + eps), in float32."""

    def __init__(self, width, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.empty(width).uniform_(0.5, 1.5)), eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class HfGemmaRmsNorm(nn.Module):
    """transformers' GemmaRMSNorm: the weight stored as its difference from 1, x's norm times (1 + weight) in float32."""

    def __init__(self, width, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.empty(width).uniform_(-0.5, 0.5)), eps

    def forward(self, x):
        return (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)) * (1.0 + self.weight.float())


class HfAttention(nn.Module):
    """transformers' LlamaAttention, written out: q/k/v/o_proj without biases, rotary positions (rotate_half, inv_freq =
    1 / theta^(arange(0, d, 2) / d) in float32 as transformers computes them), repeat_kv, a causal softmax. Qwen3Attention with
    head_dim and qk_norm (its eps): heads head_dim wide, each head's queries and keys RMS-normalised (q_norm, k_norm) before
    the rotation."""

    def __init__(self, width, heads, kv_heads, theta, scaling=None, qkv_bias=False, window=None, head_dim=None, qk_norm=None, norm=None, partial=1.0):
        super().__init__()
        d = head_dim or width // heads
        self.rotary_dim = int(d * partial)  # Phi3Attention's partial rotation: int(head_dim * partial_rotary_factor) values turned
        self.heads, self.kv_heads, self.d, self.theta, self.scaling, self.window = heads, kv_heads, d, theta, scaling, window
        # Qwen2's attention: biases on q, k and v (qkv_bias), none on o
        self.q_proj, self.o_proj = nn.Linear(width, heads * d, bias=qkv_bias), nn.Linear(heads * d, width, bias=False)
        self.k_proj, self.v_proj = nn.Linear(width, kv_heads * d, bias=qkv_bias), nn.Linear(width, kv_heads * d, bias=qkv_bias)
        if qk_norm is not None:  # Qwen3's q_norm and k_norm: Qwen3RMSNorm(head_dim), over each head (Gemma 3's: its (1 + weight) norm)
            self.q_norm, self.k_norm = (norm or HfRmsNorm)(d, qk_norm), (norm or HfRmsNorm)(d, qk_norm)

    def project(self, x):
        return self.q_proj(x), self.k_proj(x), self.v_proj(x)

    def forward(self, x, position=0, cache=None):
        """x's steps at positions position … + T − 1; with a cache (a dict), as transformers' decoding runs it: this pass's keys
        and values appended to the earlier steps' as they were turned, the queries over all of them."""
        B, T, E = x.shape
        reach = position + T  # (transformers' seq_len: the pass's last position + 1)
        h, kv, d = self.heads, self.kv_heads, self.d
        q, k, v = self.project(x)
        q, k = q.view(B, T, h, d), k.view(B, T, kv, d)
        if hasattr(self, "q_norm"):
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = v.view(B, T, kv, d).transpose(1, 2)
        r = self.rotary_dim
        inv_freq = 1.0 / (self.theta ** (torch.arange(0, r, 2, dtype=torch.int64).float() / r))
        attention_factor = 1.0
        if self.scaling is not None and self.scaling.get("rope_type", self.scaling.get("type")) == "linear":
            inv_freq = inv_freq / self.scaling["factor"]  # transformers' _compute_linear_scaling_rope_parameters
        elif self.scaling is not None and self.scaling.get("rope_type", self.scaling.get("type")) in ("longrope", "su"):
            # transformers' _compute_longrope_parameters with its dynamic update: each pair's frequency divided by long_factor's
            # where the pass reaches past the original context (its last position + 1), short_factor's otherwise; the cosines and
            # sines times sqrt(1 + ln(factor) / ln(original)), factor = max_position_embeddings / original
            original, factor = self.scaling["original"], self.scaling.get("factor") or self.scaling["max_positions"] / self.scaling["original"]
            ext = torch.tensor(self.scaling["long_factor"] if reach > original else self.scaling["short_factor"], dtype=torch.float32)
            inv_freq = 1.0 / (ext * self.theta ** (torch.arange(0, r, 2, dtype=torch.int64).float() / r))
            attention_factor = math.sqrt(1 + math.log(factor) / math.log(original)) if factor > 1 else 1.0
        elif self.scaling is not None and self.scaling.get("rope_type", self.scaling.get("type")) == "dynamic":
            # transformers' _compute_dynamic_ntk_parameters with its dynamic update: a pass whose seq_len (its last position + 1, a
            # tensor, so that the base is computed in float32) reaches past max_position_embeddings raises the base
            most, factor = self.scaling["max_positions"], self.scaling["factor"]
            seq_len = torch.tensor(reach)
            if seq_len > most:
                base = self.theta * ((factor * seq_len / most) - (factor - 1)) ** (r / (r - 2))
                inv_freq = 1.0 / (base ** (torch.arange(0, r, 2, dtype=torch.int64).float() / r))
        elif self.scaling is not None and self.scaling.get("rope_type") == "yarn":
            # transformers' _compute_yarn_parameters at its defaults (beta_fast 32, beta_slow 1, truncate): the pairs that turn
            # more than 32 times over the original context kept, those under once divided by the factor, a ramp between; the
            # cosines and sines times 0.1 * ln(factor) + 1
            factor, original = self.scaling["factor"], self.scaling["original_max_position_embeddings"]

            def correction(turns):  # (over the values turned: dim = int(head_dim * partial_rotary_factor))
                return (r * math.log(original / (turns * 2 * math.pi))) / (2 * math.log(self.theta))

            low, high = max(math.floor(correction(32)), 0), min(math.ceil(correction(1)), r - 1)
            if low == high:
                high += 0.001
            ramp = torch.clamp((torch.arange(r // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
            pos_freqs = self.theta ** (torch.arange(0, r, 2).float() / r)
            kept = 1 - ramp
            inv_freq = 1.0 / (factor * pos_freqs) * (1 - kept) + 1.0 / pos_freqs * kept
            attention_factor = 0.1 * math.log(factor) + 1.0
        elif self.scaling is not None:  # transformers' _compute_llama3_parameters (rope_type "llama3", LLaMA 3.1's long contexts)
            factor, low, high = self.scaling["factor"], self.scaling["low_freq_factor"], self.scaling["high_freq_factor"]
            old = self.scaling["original_max_position_embeddings"]
            low_wavelen, high_wavelen = old / low, old / high
            wavelen = 2 * math.pi / inv_freq
            scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
            smooth = (old / wavelen - low) / (high - low)
            smoothed = (1 - smooth) * scaled / factor + smooth * scaled
            medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
            inv_freq = torch.where(medium, smoothed, scaled)
        freqs = torch.arange(position, reach, dtype=torch.float32)[:, None] * inv_freq[None, :]
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos() * attention_factor, emb.sin() * attention_factor

        def rotate_half(t):
            return torch.cat([-t[..., r // 2:], t[..., :r // 2]], dim=-1)

        def turn(t):  # (Phi-3's q_rot, q_pass: the values past the rotary width kept)
            return torch.cat([t[..., :r] * cos + rotate_half(t[..., :r]) * sin, t[..., r:]], dim=-1)

        q, k = turn(q), turn(k)
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        k, v = k.repeat_interleave(h // kv, dim=1), v.repeat_interleave(h // kv, dim=1)  # repeat_kv
        # Gemma 2's and 3's scale, query_pre_attn_scalar ** -0.5, and Gemma 2's soft cap, tanh(scores / cap) * cap
        scores = q @ k.transpose(2, 3) * self.score_scale if getattr(self, "score_scale", None) else q @ k.transpose(2, 3) / math.sqrt(d)
        if getattr(self, "softcap", None):
            scores = torch.tanh(scores / self.softcap) * self.softcap
        if cache is None:
            scores = scores + torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
        else:
            assert T == 1 and not self.window  # (one step at a time: every cached step is earlier)
        if self.window:  # Mistral's sliding window (transformers' masking: key j seen by query i when j > i - sliding_window)
            scores = scores + torch.tril(torch.full((T, T), float("-inf")), diagonal=-self.window)
        return self.o_proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, h * d))


class HfPhi3Attention(HfAttention):
    """transformers' Phi3Attention: LLaMA's attention whose queries, keys and values come from one fused projection,
    qkv_proj, sliced by columns (queries first, then keys, then values: query_pos = heads · head_dim)."""

    def __init__(self, width, heads, kv_heads, theta, window=None, partial=1.0, scaling=None):
        super().__init__(width, heads, kv_heads, theta, scaling=scaling, window=window, partial=partial)
        del self.q_proj, self.k_proj, self.v_proj
        self.qkv_proj = nn.Linear(width, width + 2 * kv_heads * self.d, bias=False)

    def project(self, x):
        qkv, query_pos, kv = self.qkv_proj(x), self.heads * self.d, self.kv_heads * self.d
        return qkv[..., :query_pos], qkv[..., query_pos:query_pos + kv], qkv[..., query_pos + kv:]


class HfPhi3Mlp(nn.Module):
    """transformers' Phi3MLP: gate_proj and up_proj fused into gate_up_proj, chunked in two (the gate first)."""

    def __init__(self, width, intermediate):
        super().__init__()
        self.gate_up_proj = nn.Linear(width, 2 * intermediate, bias=False)
        self.down_proj = nn.Linear(intermediate, width, bias=False)

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(up * F.silu(gate))


class HfGemmaMlp(nn.Module):
    """transformers' GemmaMLP: LLaMA's with GELU (its tanh approximation, gelu_pytorch_tanh, or the exact one) on the gate."""

    def __init__(self, width, intermediate, approximate):
        super().__init__()
        self.gate_proj = nn.Linear(width, intermediate, bias=False)
        self.up_proj = nn.Linear(width, intermediate, bias=False)
        self.down_proj = nn.Linear(intermediate, width, bias=False)
        self.approximate = approximate

    def forward(self, x):
        return self.down_proj(F.gelu(self.gate_proj(x), approximate=self.approximate) * self.up_proj(x))


class HfMlp(nn.Module):
    def __init__(self, width, intermediate):
        super().__init__()
        self.gate_proj = nn.Linear(width, intermediate, bias=False)
        self.up_proj = nn.Linear(width, intermediate, bias=False)
        self.down_proj = nn.Linear(intermediate, width, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class HfGemma3DecoderLayer(nn.Module):
    """transformers' Gemma3DecoderLayer: norms before and after the attention and the feed-forward (each of (1 + weight)),
    the attention's heads head_dim wide with q_norm and k_norm, scaled by query_pre_attn_scalar ** -0.5 (here head_dim, as
    every Gemma 3 but 27B), a sliding layer (layer_types) attending to the sliding_window most recent steps with its own
    rotary base (rope_local_base_freq) and no scaling, a full one at rope_theta with rope_scaling. Gemma2DecoderLayer: the
    same without q_norm and k_norm, every layer at rope_theta (10000) with rope_scaling, every other layer sliding where
    layer_types is absent (the first, third, ...), the scores soft-capped at attn_logit_softcapping."""

    def __init__(self, c, i):
        super().__init__()
        kv_heads, width, eps = c.get("num_key_value_heads", 4), c["hidden_size"], c.get("rms_norm_eps", 1e-6)
        gemma2 = c.get("model_type") == "gemma2"
        # without layer_types: Gemma 2's layers alternate, Gemma 3's slide but each sliding_window_pattern-th (6 by default)
        pattern = 2 if gemma2 else c.get("sliding_window_pattern", 6)
        types = c.get("layer_types") or ["sliding_attention" if (j + 1) % pattern else "full_attention" for j in range(c["num_hidden_layers"])]
        sliding = types[i] == "sliding_attention"
        theta = c.get("rope_theta", 10000.0) if gemma2 else c.get("rope_local_base_freq", 10000.0) if sliding else c.get("rope_theta", 1000000.0)
        self.self_attn = HfAttention(width, c["num_attention_heads"], kv_heads, theta,
                                     c.get("rope_scaling") if gemma2 or not sliding else None, window=c.get("sliding_window", 4096) if sliding else None,
                                     head_dim=c.get("head_dim", 256), qk_norm=None if gemma2 else eps, norm=HfGemmaRmsNorm)
        scalar = c.get("query_pre_attn_scalar", 256)
        if scalar != c.get("head_dim", 256):
            self.self_attn.score_scale = scalar ** -0.5
        if gemma2:
            self.self_attn.softcap = c.get("attn_logit_softcapping", 50.0)
        activation = c.get("hidden_activation", "gelu_pytorch_tanh")  # (Gemma3MLP reads hidden_activation)
        self.mlp = HfGemmaMlp(width, c["intermediate_size"], "tanh" if activation == "gelu_pytorch_tanh" else "none")
        self.input_layernorm, self.post_attention_layernorm = HfGemmaRmsNorm(width, eps), HfGemmaRmsNorm(width, eps)
        self.pre_feedforward_layernorm, self.post_feedforward_layernorm = HfGemmaRmsNorm(width, eps), HfGemmaRmsNorm(width, eps)

    def forward(self, x):
        x = x + self.post_attention_layernorm(self.self_attn(self.input_layernorm(x)))
        return x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x)))


class HfDecoderLayer(nn.Module):
    def __init__(self, c, i=0):
        super().__init__()
        kv_heads = c.get("num_key_value_heads", c["num_attention_heads"])
        if c.get("model_type") == "phi3":  # Phi3ForCausalLM: fused projections, a window where sliding_window is set, ε 1e-5 by default
            scaling = c.get("rope_scaling") and dict(c["rope_scaling"], original=c.get("original_max_position_embeddings"), max_positions=c.get("max_position_embeddings"))
            self.self_attn = HfPhi3Attention(c["hidden_size"], c["num_attention_heads"], kv_heads, c.get("rope_theta", 10000.0), window=c.get("sliding_window"),
                                             partial=c.get("partial_rotary_factor", 1.0), scaling=scaling)
            self.mlp = HfPhi3Mlp(c["hidden_size"], c["intermediate_size"])
        elif c.get("model_type") == "gemma":  # GemmaForCausalLM: GELU on the gate, norms of (1 + weight)
            self.self_attn = HfAttention(c["hidden_size"], c["num_attention_heads"], kv_heads, c.get("rope_theta", 10000.0))
            activation = c.get("hidden_act", "gelu_pytorch_tanh")  # (transformers ≥ 4.48 reads hidden_act, not hidden_activation)
            self.mlp = HfGemmaMlp(c["hidden_size"], c["intermediate_size"], "tanh" if activation == "gelu_pytorch_tanh" else "none")
        elif c.get("model_type") == "qwen3":  # Qwen3ForCausalLM: heads of head_dim (128 by default), q_norm and k_norm at rms_norm_eps
            self.self_attn = HfAttention(c["hidden_size"], c["num_attention_heads"], kv_heads, c.get("rope_theta", 10000.0),
                                         head_dim=c.get("head_dim", 128), qk_norm=c.get("rms_norm_eps", 1e-6))
            self.mlp = HfMlp(c["hidden_size"], c["intermediate_size"])
        else:
            # Mistral's window on every layer; Qwen2's with use_sliding_window on the layers from max_window_layers on
            qwen_window = c.get("model_type") == "qwen2" and c.get("use_sliding_window") and i >= c.get("max_window_layers", 28)
            self.self_attn = HfAttention(c["hidden_size"], c["num_attention_heads"], kv_heads, c.get("rope_theta", 10000.0),
                                         c.get("rope_scaling") and dict(c["rope_scaling"], max_positions=c.get("max_position_embeddings")), qkv_bias=c.get("model_type") == "qwen2",
                                         window=c.get("sliding_window") if c.get("model_type") == "mistral" or qwen_window else None)
            self.mlp = HfMlp(c["hidden_size"], c["intermediate_size"])
        eps = c.get("rms_norm_eps", 1e-5 if c.get("model_type") == "phi3" else 1e-6)
        norm = HfGemmaRmsNorm if c.get("model_type") == "gemma" else HfRmsNorm
        self.input_layernorm = norm(c["hidden_size"], eps)
        self.post_attention_layernorm = norm(c["hidden_size"], eps)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class HfLlamaModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        sandwich = c.get("model_type") in ("gemma2", "gemma3_text")
        self.layers = nn.ModuleList([HfGemma3DecoderLayer(c, i) if sandwich else HfDecoderLayer(c, i) for i in range(c["num_hidden_layers"])])
        self.norm = (HfGemmaRmsNorm if c.get("model_type") in GEMMA_TYPES else HfRmsNorm)(c["hidden_size"], c.get("rms_norm_eps", 1e-5 if c.get("model_type") == "phi3" else 1e-6))


GEMMA_TYPES = ("gemma", "gemma2", "gemma3_text")


class HfLlamaForCausalLM(nn.Module):
    """transformers' LlamaForCausalLM with its state_dict names (model.embed_tokens.weight, model.layers.0.self_attn.q_proj.weight,
    ..., model.norm.weight, lm_head.weight), written out from modeling_llama (transformers is not a Debian package here)."""

    def __init__(self, c):
        super().__init__()
        self.model, self.lm_head = HfLlamaModel(c), nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings", c.get("model_type") in GEMMA_TYPES):  # (Gemma's config ties by default)
            self.lm_head.weight = self.model.embed_tokens.weight
        # Gemma's embedding is scaled by √hidden_size (a float32 tensor), the tied output layer reading the table unscaled
        self.scale = torch.tensor(c["hidden_size"] ** 0.5) if c.get("model_type") in GEMMA_TYPES else None
        # Gemma 2's logits soft-capped (Gemma2ForCausalLM: logits / cap, tanh, * cap)
        self.softcap = c.get("final_logit_softcapping", 30.0) if c.get("model_type") == "gemma2" else None

    def forward(self, ids):
        x = self.model.embed_tokens(ids)
        if self.scale is not None:
            x = x * self.scale.to(x.dtype)
        for layer in self.model.layers:
            x = layer(x)
        logits = self.lm_head(self.model.norm(x))
        return torch.tanh(logits / self.softcap) * self.softcap if self.softcap else logits


def decode(model, ids):
    """LLaMA's layers decoding one token at a time with transformers' key/value cache: each step's queries and keys turned by the
    frequencies for its own reach (dynamic NTK's base growing with it past the original context), the cached keys kept as they
    were turned; the logits of every step."""
    caches, out = [{} for _ in model.model.layers], []
    for t in range(ids.shape[1]):
        x = model.model.embed_tokens(ids[:, t:t + 1])
        for layer, cache in zip(model.model.layers, caches):
            x = x + layer.self_attn(layer.input_layernorm(x), position=t, cache=cache)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        out.append(model.lm_head(model.model.norm(x)))
    return torch.cat(out, 1)


def make_hf_checkpoint(case, c, steps, seed, short_steps=None, decoded=False):
    """A tiny LLaMA-architecture checkpoint as Hugging Face saves one: {case}/config.json and {case}/model.safetensors
    (bfloat16, as most published ones; the reference runs on those values in float32; a tied lm_head left out, as
    save_pretrained leaves it), and {case}.expected.safetensors with token ids and their logits."""
    torch.manual_seed(seed)
    model = HfLlamaForCausalLM(c)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).float())
    os.makedirs(os.path.join(HERE, case), exist_ok=True)
    with open(os.path.join(HERE, case, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    state = {k: v.to(torch.bfloat16) for k, v in model.state_dict().items()
             if not (k == "lm_head.weight" and c.get("tie_word_embeddings", c.get("model_type") in GEMMA_TYPES))}
    save_safetensors(os.path.join(HERE, case, "model.safetensors"), state)
    ids = torch.randint(0, c["vocab_size"], (2, steps))
    with torch.no_grad():
        logits = model(ids)
    expected = {"ids": ids, "logits": logits}
    if short_steps:  # a pass over the first steps alone (LongRoPE: within the original context, the short factors)
        with torch.no_grad():
            expected.update(ids_short=ids[:, :short_steps].contiguous(), logits_short=model(ids[:, :short_steps].contiguous()))
    if decoded:  # the same ids decoded one at a time from a key/value cache (dynamic NTK: other frequencies past the original context)
        with torch.no_grad():
            expected.update(logits_decoded=decode(model, ids))
    save_safetensors(os.path.join(HERE, case + ".expected.safetensors"), expected)
    print(f"{case}: {len(state)} tensors, logits {list(logits.shape)}")


def make_hf_llama_int8():
    """HfLlamaInt8: HfLlama's shape (HfTinyLlama loads it) in compressed-tensors' "int-quantized" format, the weights' layout of
    llm-compressor's W8A8 recipe with its activations left unquantized (W8A16; that recipe itself packs the same integers four to
    an int32, "pack-quantized", which the tests write from this one), written out here: compressed-tensors is not a Debian package. Each linear layer of the decoder layers has its weight as 8-bit
    integers with a bfloat16 scale per output channel, symmetric: scale = largest magnitude / 127.5 (the range [-128, 127]
    over 2), q = round(w / scale) clamped to [-128, 127]; layer 0's q_proj also keeps its all-zero weight_zero_point, as older
    versions saved one. The embedding, the norms and lm_head (the recipe's ignore) stay bfloat16. The reference runs on the
    weights the checkpoint stands for, q * scale, in float32."""
    case = "HfLlamaInt8"
    c = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "intermediate_size": 24, "num_attention_heads": 4,
         "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 17, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
         "hidden_act": "silu", "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False, "max_position_embeddings": 64,
         "rope_scaling": None, "torch_dtype": "bfloat16",
         "quantization_config": {
             "config_groups": {"group_0": {
                 "input_activations": None, "output_activations": None, "targets": ["Linear"],
                 "weights": {"actorder": None, "block_structure": None, "dynamic": False, "group_size": None, "num_bits": 8,
                             "observer": "minmax", "observer_kwargs": {}, "strategy": "channel", "symmetric": True, "type": "int"}}},
             "format": "int-quantized", "global_compression_ratio": None, "ignore": ["lm_head"], "kv_cache_scheme": None,
             "quant_method": "compressed-tensors", "quantization_status": "compressed"}}
    torch.manual_seed(702)
    model = HfLlamaForCausalLM(c)
    state = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(p.to(torch.bfloat16).float())
            if ".layers." in name and name.endswith("_proj.weight"):
                scale = (p.abs().amax(dim=1, keepdim=True) / 127.5).clamp(min=torch.finfo(torch.float32).eps).to(torch.bfloat16)
                q = torch.clamp(torch.round(p / scale.float()), -128, 127).to(torch.int8)
                stem = name[: -len(".weight")]
                state[name], state[stem + ".weight_scale"] = q, scale
                if stem == "model.layers.0.self_attn.q_proj":
                    state[stem + ".weight_zero_point"] = torch.zeros(scale.shape, dtype=torch.int8)
                p.copy_(q.float() * scale.float())
            else:
                state[name] = p.to(torch.bfloat16)
    os.makedirs(os.path.join(HERE, case), exist_ok=True)
    with open(os.path.join(HERE, case, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    save_safetensors(os.path.join(HERE, case, "model.safetensors"), state)
    ids = torch.randint(0, c["vocab_size"], (2, 9))
    with torch.no_grad():
        logits = model(ids)
    save_safetensors(os.path.join(HERE, case + ".expected.safetensors"), {"ids": ids, "logits": logits})
    print(f"{case}: {len(state)} tensors, logits {list(logits.shape)}")


def make_hf_llama():
    """HfLlama: two decoder layers, 4 query heads over 2 key/value heads, LLaMA 3's rope_theta. HfQwen2: Qwen2's biases on the
    queries, keys and values, 6 query heads over 2, tied embeddings. HfLlama31: LLaMA 3.1's
    scaled rotary frequencies (rope_scaling "llama3", its original context shortened to 16 so that every frequency of the
    8-wide heads is moved), multi-query attention, tied embeddings, and rms_norm_eps and rope_theta left to their defaults."""
    make_hf_checkpoint("HfLlama", {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "intermediate_size": 24, "num_attention_heads": 4,
        "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 17, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
        "hidden_act": "silu", "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False, "max_position_embeddings": 64,
        "rope_scaling": None, "torch_dtype": "bfloat16"}, 9, 700)
    make_hf_checkpoint("HfLlama31", {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32, "intermediate_size": 48, "num_attention_heads": 4,
        "num_key_value_heads": 1, "num_hidden_layers": 2, "vocab_size": 19, "hidden_act": "silu", "tie_word_embeddings": True,
        "max_position_embeddings": 64, "torch_dtype": "bfloat16",
        "rope_scaling": {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16}}, 12, 701)
    make_hf_llama_int8()
    make_hf_linear()
    make_hf_yarn()
    make_hf_dynamic()
    make_hf_qwen2_window()
    make_hf_gpt2()
    make_hf_berts()
    make_hf_modernbert()
    make_hf_nomic_bert()
    make_hf_nomic_bert(pair=True)
    make_hf_mpnet()
    make_hf_t5(gated=True)
    make_hf_t5(gated=False)
    make_hf_t5(umt5=True)
    make_hf_t5_generation()
    make_hf_t5_generation(tied=True)
    make_hf_bloom()
    make_hf_mpt()
    make_hf_jina_bert()
    make_relative_buckets()
    make_hf_mistral()
    make_hf_phi3()
    make_hf_phi3_partial()
    make_hf_phi3_longrope()
    make_hf_gemma()
    make_hf_qwen3()
    make_hf_gemma3()
    make_hf_gemma2()
    # Qwen2ForCausalLM (Qwen2, Qwen2.5): LLaMA's layers with biases on q_proj, k_proj and v_proj; a window size kept but unused
    make_hf_checkpoint("HfQwen2", {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 24, "intermediate_size": 40, "num_attention_heads": 6,
        "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 23, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "hidden_act": "silu",
        "tie_word_embeddings": True, "use_sliding_window": False, "sliding_window": 32768, "max_window_layers": 21, "max_position_embeddings": 32768,
        "rope_scaling": None, "torch_dtype": "bfloat16"}, 10, 702)


def make_hf_mistral():
    """HfMistral: MistralForCausalLM, whose attention reads a sliding window of the most recent steps (here 4 of 11), 4 query
    heads over 2 key/value heads."""
    make_hf_checkpoint("HfMistral", {
        "architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 16, "intermediate_size": 24, "num_attention_heads": 4,
        "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 13, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "hidden_act": "silu",
        "tie_word_embeddings": False, "sliding_window": 4, "max_position_embeddings": 64, "torch_dtype": "bfloat16"}, 11, 704)


def make_hf_phi3():
    """HfPhi3: Phi3ForCausalLM (Phi-3 mini and medium at 4k): LLaMA's layers with q, k and v fused into qkv_proj and gate and up
    into gate_up_proj (the gate's rows first), a sliding window (4 of 11 steps), 4 query heads over 2, rms_norm_eps left to
    Phi-3's default (1e-5)."""
    make_hf_checkpoint("HfPhi3", {
        "architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_size": 16, "intermediate_size": 24, "num_attention_heads": 4,
        "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 13, "rope_theta": 10000.0, "hidden_act": "silu",
        "tie_word_embeddings": False, "sliding_window": 4, "max_position_embeddings": 64, "original_max_position_embeddings": 64,
        "rope_scaling": None, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attention_dropout": 0.0, "torch_dtype": "bfloat16"}, 11, 705)


def make_hf_gemma():
    """HfGemma: GemmaForCausalLM (Gemma 1 2B's layout): the embedding scaled by √hidden_size and tied to the output layer
    (Gemma's default), norms of (1 + weight), GELU's tanh approximation on the gate (hidden_act, as transformers reads it
    since 4.48), multi-query attention, head_dim given as hidden_size / num_attention_heads."""
    make_hf_checkpoint("HfGemma", {
        "architectures": ["GemmaForCausalLM"], "model_type": "gemma", "hidden_size": 16, "intermediate_size": 24, "num_attention_heads": 2,
        "num_key_value_heads": 1, "head_dim": 8, "num_hidden_layers": 2, "vocab_size": 13, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
        "hidden_act": "gelu_pytorch_tanh", "attention_bias": False, "max_position_embeddings": 64,
        "torch_dtype": "bfloat16"}, 11, 706)


def make_hf_gemma3():
    """HfGemma3: Gemma3ForCausalLM (Gemma 3 1B's layout): norms around the attention and the feed-forward, heads 8 wide where
    hidden_size / num_attention_heads is 4, q_norm and k_norm, a sliding layer (4 most recent of 11 steps, rotary base
    10000) then a full one (rope_theta 1e6, linear rope_scaling 2), the embedding scaled by √hidden_size and tied."""
    make_hf_checkpoint("HfGemma3", {
        "architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "hidden_size": 16, "intermediate_size": 24, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 8, "query_pre_attn_scalar": 8, "num_hidden_layers": 2, "vocab_size": 13, "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "rope_scaling": {"rope_type": "linear", "factor": 2.0}, "sliding_window": 4,
        "layer_types": ["sliding_attention", "full_attention"], "hidden_activation": "gelu_pytorch_tanh", "attention_bias": False,
        "attn_logit_softcapping": None, "final_logit_softcapping": None, "max_position_embeddings": 64, "torch_dtype": "bfloat16"}, 11, 708)


class HfGpt2Conv1D(nn.Module):
    """transformers' Conv1D (GPT-2's linear layers): weight [in, out], y = x @ weight + bias, the transpose of nn.Linear's."""

    def __init__(self, out_width, in_width):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_width, out_width) * 0.2)
        self.bias = nn.Parameter(torch.randn(out_width) * 0.1)

    def forward(self, x):
        return x @ self.weight + self.bias


class HfGpt2Block(nn.Module):
    """transformers' GPT2Block, written out: ln_1, attn (c_attn into q, k, v, n_head causal heads scaled by 1/sqrt(d), c_proj),
    the residual, ln_2, mlp (c_fc, gelu_new = GELU's tanh form, c_proj), the residual; the causal mask kept as the buffer
    attn.bias [1, 1, n_positions, n_positions] that the original checkpoints hold."""

    def __init__(self, c):
        super().__init__()
        e, inner, eps = c["n_embd"], c.get("n_inner") or 4 * c["n_embd"], c.get("layer_norm_epsilon", 1e-5)
        self.heads = c["n_head"]
        self.ln_1, self.ln_2 = nn.LayerNorm(e, eps=eps), nn.LayerNorm(e, eps=eps)
        with torch.no_grad():
            for norm in (self.ln_1, self.ln_2):
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.uniform_(-0.2, 0.2)
        self.attn = nn.Module()
        self.attn.c_attn, self.attn.c_proj = HfGpt2Conv1D(3 * e, e), HfGpt2Conv1D(e, e)
        self.attn.register_buffer("bias", torch.tril(torch.ones(c["n_positions"], c["n_positions"])).view(1, 1, c["n_positions"], c["n_positions"]))
        self.mlp = nn.Module()
        self.mlp.c_fc, self.mlp.c_proj = HfGpt2Conv1D(inner, e), HfGpt2Conv1D(e, inner)

    def forward(self, x):
        B, T, E = x.shape
        h, d = self.heads, E // self.heads
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(E, dim=2)
        q, k, v = (t.view(B, T, h, d).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        scores = scores.masked_fill(self.attn.bias[:, :, :T, :T] == 0, torch.finfo(scores.dtype).min)
        x = x + self.attn.c_proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, E))
        return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))


def make_hf_gpt2():
    """HfGpt2: GPT2LMHeadModel as the original gpt2 checkpoints hold it (no "transformer." prefix, float32, the Conv1D weights
    [in, out], each block's attn.bias causal-mask buffer, the output layer tied to wte and left out), 2 blocks of 4 heads over
    a width of 16, 32 positions."""
    c = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 16, "n_layer": 2, "n_head": 4, "n_positions": 32, "n_ctx": 32,
         "vocab_size": 13, "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05, "scale_attn_weights": True,
         "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1, "bos_token_id": 12, "eos_token_id": 12}
    torch.manual_seed(711)
    wte, wpe = nn.Embedding(c["vocab_size"], c["n_embd"]), nn.Embedding(c["n_positions"], c["n_embd"])
    blocks = [HfGpt2Block(c) for _ in range(c["n_layer"])]
    ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
    with torch.no_grad():
        ln_f.weight.uniform_(0.5, 1.5)
        ln_f.bias.uniform_(-0.2, 0.2)
    ids = torch.randint(0, c["vocab_size"], (2, 11))
    with torch.no_grad():
        x = wte(ids) + wpe(torch.arange(ids.shape[1]))
        for block in blocks:
            x = block(x)
        logits = ln_f(x) @ wte.weight.T
    state = {"wte.weight": wte.weight, "wpe.weight": wpe.weight, "ln_f.weight": ln_f.weight, "ln_f.bias": ln_f.bias}
    for i, block in enumerate(blocks):
        for name, t in block.state_dict().items():
            state[f"h.{i}.{name}"] = t
    os.makedirs(os.path.join(HERE, "HfGpt2"), exist_ok=True)
    with open(os.path.join(HERE, "HfGpt2", "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    save_safetensors(os.path.join(HERE, "HfGpt2", "model.safetensors"), state)
    save_safetensors(os.path.join(HERE, "HfGpt2.expected.safetensors"), {"ids": ids, "logits": logits})
    print(f"HfGpt2: {len(state)} tensors, logits {list(logits.shape)}")


def random_norm(state, prefix, width, bias=True):
    """A norm's weight (uniform in [0.5, 1.5]) and, with bias, its bias (in [-0.2, 0.2]) into state under prefix: values a
    missing or misplaced norm would change."""
    state[prefix + ".weight"] = torch.empty(width).uniform_(0.5, 1.5)
    if bias:
        state[prefix + ".bias"] = torch.empty(width).uniform_(-0.2, 0.2)


def random_split_attention(state, prefix, heads, kv, d, H, output, bias=True, output_bias=None):
    """An attention's separate q_proj, k_proj and v_proj (heads and kv heads of d values over a width of H) and its output
    projection `output`, drawn in that order into state under prefix (their biases with bias; the output's with output_bias, else
    as bias)."""
    random_linear(state, prefix + "q_proj", heads * d, H, bias=bias)
    random_linear(state, prefix + "k_proj", kv * d, H, bias=bias)
    random_linear(state, prefix + "v_proj", kv * d, H, bias=bias)
    random_linear(state, prefix + output, H, heads * d, bias=bias if output_bias is None else output_bias)


def random_linear(state, prefix, rows, cols, bias=True):
    """nn.Linear(cols, rows)'s weight (and bias) as PyTorch draws them, into state under prefix."""
    layer = nn.Linear(cols, rows, bias=bias)
    state[prefix + ".weight"] = layer.weight.detach().clone()
    if bias:
        state[prefix + ".bias"] = layer.bias.detach().clone()


def make_hf_bloom():
    """HfBloom: BloomForCausalLM as bigscience's checkpoints hold it (no "transformer." prefix, float32, n_embed for hidden_size,
    lm_head tied to word_embeddings and left out), transformers' modeling_bloom written out: word_embeddings, its LayerNorm; 2
    blocks of 6 heads over a width of 24 (the slopes of 6 heads interpolated), each input_layernorm, query_key_value fused as
    [heads, 3, d] rows, the scores q k^T / sqrt(d) plus build_alibi_tensor's m_h * j (float32 slopes; the key's position, as
    BLOOM adds it), the causal and padding masks, dense; post_attention_layernorm, dense_h_to_4h, bloom_gelu_forward (GELU's tanh
    form), dense_4h_to_h; ln_f, the tied head. Two sequences of 11 steps, the second padded after 7 (right padding, its
    attention_mask)."""
    c = {"architectures": ["BloomForCausalLM"], "model_type": "bloom", "vocab_size": 17, "n_embed": 24, "n_layer": 2, "n_head": 6,
         "layer_norm_epsilon": 1e-05, "apply_residual_connection_post_layernorm": False, "hidden_dropout": 0.0, "attention_dropout": 0.0,
         "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3}
    torch.manual_seed(741)
    H, heads, V, T = c["n_embed"], c["n_head"], c["vocab_size"], 11
    d = H // heads

    def norm(prefix):
        random_norm(state, prefix, H)

    def linear(prefix, rows, cols):
        random_linear(state, prefix, rows, cols)
    state = {"word_embeddings.weight": nn.Embedding(V, H).weight.detach().clone()}
    norm("word_embeddings_layernorm")
    for i in range(c["n_layer"]):
        at = f"h.{i}."
        norm(at + "input_layernorm")
        linear(at + "self_attention.query_key_value", 3 * H, H)
        linear(at + "self_attention.dense", H, H)
        norm(at + "post_attention_layernorm")
        linear(at + "mlp.dense_h_to_4h", 4 * H, H)
        linear(at + "mlp.dense_4h_to_h", H, 4 * H)
    norm("ln_f")
    ids = torch.randint(4, V, (2, T))
    lengths = torch.tensor([T, 7])
    ids[1, 7:] = c["pad_token_id"]
    mask = (torch.arange(T)[None, :] < lengths[:, None]).long()

    def layer_norm(x, prefix):
        return F.layer_norm(x, (H,), state[prefix + ".weight"], state[prefix + ".bias"], c["layer_norm_epsilon"])

    def gelu(x):  # bloom_gelu_forward
        return x * 0.5 * (1.0 + torch.tanh(0.79788456 * x * (1 + 0.044715 * x * x)))

    alibi = build_alibi_tensor(mask, heads)
    minimum = torch.finfo(torch.float32).min
    blocked = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)[None, None] | (mask == 0)[:, None, None, :]
    with torch.no_grad():
        x = layer_norm(F.embedding(ids, state["word_embeddings.weight"]), "word_embeddings_layernorm")
        for i in range(c["n_layer"]):
            at = f"h.{i}."
            y = layer_norm(x, at + "input_layernorm")
            fused = (y @ state[at + "self_attention.query_key_value.weight"].T + state[at + "self_attention.query_key_value.bias"]).view(2, T, heads, 3, d)
            q, k, v = (fused[..., j, :].transpose(1, 2) for j in range(3))  # _split_heads
            scores = alibi + (q @ k.transpose(-1, -2)) / math.sqrt(d)  # alibi.baddbmm(q, k^T, beta=1, alpha=inv_norm_factor)
            weights = scores.masked_fill(blocked, minimum).softmax(-1)
            context = (weights @ v).transpose(1, 2).reshape(2, T, H)
            x = x + context @ state[at + "self_attention.dense.weight"].T + state[at + "self_attention.dense.bias"]
            y = layer_norm(x, at + "post_attention_layernorm")
            h = gelu(y @ state[at + "mlp.dense_h_to_4h.weight"].T + state[at + "mlp.dense_h_to_4h.bias"])
            x = x + h @ state[at + "mlp.dense_4h_to_h.weight"].T + state[at + "mlp.dense_4h_to_h.bias"]
        logits = layer_norm(x, "ln_f") @ state["word_embeddings.weight"].T
    write_hf_fixture("HfBloom", c, state, ids, lengths, logits)


def make_hf_mpt():
    """HfMpt: MptForCausalLM as mosaicml's checkpoints and transformers' hold it ("transformer." prefix, float32, lm_head tied to
    wte and left out), transformers' modeling_mpt written out: wte; 2 blocks of 6 heads over a width of 24, each norm_1 (LayerNorm
    without a bias), attn.Wqkv (q, k, v side by side, no bias), the scores q k^T / sqrt(d) plus build_mpt_alibi_tensor's
    m_h (j - (T - 1)) (its slopes 1 / 2^(8 k / 8) for the power of two above 6, reordered odd then even), the causal and padding
    masks, out_proj; norm_2, ffn.up_proj (4 * 24), exact GELU, ffn.down_proj; norm_f, the tied head. Two sequences of 11 steps,
    the second padded after 7."""
    c = {"architectures": ["MptForCausalLM"], "model_type": "mpt", "vocab_size": 19, "d_model": 24, "n_heads": 6, "n_layers": 2, "expansion_ratio": 4,
         "max_seq_len": 64, "layer_norm_epsilon": 1e-05, "no_bias": True, "learned_pos_emb": True, "norm_type": "low_precision_layernorm",
         "attn_config": {"attn_type": "multihead_attention", "attn_pdrop": 0.0, "attn_impl": "torch", "clip_qkv": None, "softmax_scale": None,
                         "prefix_lm": False, "qk_ln": False, "attn_uses_sequence_id": False, "alibi": True, "alibi_bias_max": 8}}
    torch.manual_seed(761)
    H, heads, V, T = c["d_model"], c["n_heads"], c["vocab_size"], 11
    d = H // heads
    state = {"wte.weight": nn.Embedding(V, H).weight.detach().clone()}

    def norm(prefix):
        random_norm(state, prefix, H, bias=False)

    def linear(prefix, rows, cols):
        random_linear(state, prefix, rows, cols, bias=False)
    for i in range(c["n_layers"]):
        at = f"blocks.{i}."
        norm(at + "norm_1")
        linear(at + "attn.Wqkv", 3 * H, H)
        linear(at + "attn.out_proj", H, H)
        norm(at + "norm_2")
        linear(at + "ffn.up_proj", 4 * H, H)
        linear(at + "ffn.down_proj", H, 4 * H)
    norm("norm_f")
    ids, lengths, blocked = padded_batch(V, T)
    # build_mpt_alibi_tensor
    alibi = torch.arange(1 - c["max_seq_len"], 1, dtype=torch.int32).view(1, 1, 1, c["max_seq_len"])
    power = 2 ** math.ceil(math.log2(heads))
    base = torch.arange(1, power + 1, dtype=torch.int64).float() * (c["attn_config"]["alibi_bias_max"] / power)
    slopes = (1.0 / torch.pow(2, base)).view(1, power, 1, 1)
    if power != heads:
        slopes = torch.concat([slopes[:, 1::2, ...], slopes[:, ::2, ...]], dim=1)[:, :heads, ...]
    alibi = (alibi * slopes).squeeze(0)[:, :, -T:]  # [heads, 1, T]: the last T keys' positions

    def layer_norm(x, prefix):
        return F.layer_norm(x, (H,), state[prefix + ".weight"], None, c["layer_norm_epsilon"])
    with torch.no_grad():
        x = F.embedding(ids, state["wte.weight"])
        for i in range(c["n_layers"]):
            at = f"blocks.{i}."
            q, k, v = ((t.view(2, T, heads, d).transpose(1, 2)) for t in (layer_norm(x, at + "norm_1") @ state[at + "attn.Wqkv.weight"].T).chunk(3, dim=2))
            scores = q @ k.transpose(-1, -2) * (1 / math.sqrt(H / heads)) + alibi
            weights = scores.masked_fill(blocked, torch.finfo(torch.float32).min).softmax(-1)
            x = x + (weights @ v).transpose(1, 2).reshape(2, T, H) @ state[at + "attn.out_proj.weight"].T
            h = F.gelu(layer_norm(x, at + "norm_2") @ state[at + "ffn.up_proj.weight"].T)
            x = x + h @ state[at + "ffn.down_proj.weight"].T
        logits = layer_norm(x, "norm_f") @ state["wte.weight"].T
    tensors = {"transformer." + name: t for name, t in state.items()}
    write_hf_fixture("HfMpt", c, tensors, ids, lengths, logits)


def padded_batch(V, T, valid=7):
    """Two sequences of T token ids from 1 to V - 1, the second padded with 0 after `valid`: the ids, their lengths and what the
    attention blocks, [2, 1, T, T] (the keys after each query's, and the padded ones)."""
    ids = torch.randint(1, V, (2, T))
    lengths = torch.tensor([T, valid])
    ids[1, valid:] = 0
    mask = torch.arange(T)[None, :] < lengths[:, None]
    blocked = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)[None, None] | (~mask)[:, None, None, :]
    return ids, lengths, blocked


def partial_rotation(T, nd, base):
    """transformers' rotary embedding over each head's first nd values (rotate_half; the rest passed) at positions 0 to T - 1,
    at `base` (GPT-NeoX's rotary_ndims, Phi's and StableLM's partial_rotary_factor, Falcon's whole heads): the rotation of
    [B, heads, T, d], and its inv_freq."""
    inv_freq = 1.0 / (base ** (torch.arange(0, nd, 2).float() / nd))
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos(), emb.sin()

    def rotated(x):
        turned = x[..., :nd]
        half = torch.cat([-turned[..., nd // 2:], turned[..., :nd // 2]], dim=-1)
        return torch.cat([turned * cos + half * sin, x[..., nd:]], dim=-1)
    return rotated, inv_freq


def write_hf_fixture(name, config, tensors, ids, lengths, logits):
    """A checkpoint's folder as save_pretrained writes it (config.json, model.safetensors) and its expected logits beside it."""
    os.makedirs(os.path.join(HERE, name), exist_ok=True)
    with open(os.path.join(HERE, name, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    save_safetensors(os.path.join(HERE, name, "model.safetensors"), tensors)
    save_safetensors(os.path.join(HERE, name + ".expected.safetensors"), {"ids": ids, "lengths": lengths, "logits": logits})
    print(f"{name}: {len(tensors)} tensors, logits {list(logits.shape)}")


def make_hf_gpt_neox(name, parallel, seed):
    """HfGptNeoX (Pythia's parallel blocks, use_parallel_residual true) and HfGptNeoXSequential (false): GPTNeoXForCausalLM as
    save_pretrained writes it ("gpt_neox." prefix, float32, embed_out untied), transformers' modeling_gpt_neox written out:
    embed_in; 2 blocks of 4 heads over a width of 32, each input_layernorm, attention.query_key_value (rows [heads, 3, d]: each
    head's q, k and v together, with biases), the rotation of each head's first rotary_pct * d = 4 values (rotate_half, base
    rotary_emb_base), the scores q k^T / sqrt(d), the causal and padding masks, attention.dense; then either
    x + attn(ln1(x)) + mlp(ln2(x)) (parallel) or x = x + attn(ln1(x)); x + mlp(ln2(x)); the mlp dense_h_to_4h (96), hidden_act
    (exact GELU; gelu_new for the sequential one), dense_4h_to_h; final_layer_norm, embed_out. Two sequences of 11 steps, the
    second padded after 7; a few old checkpoints' buffers (attention.bias, masked_bias, rotary_emb.inv_freq) beside them."""
    c = {"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox", "vocab_size": 23, "hidden_size": 32, "num_attention_heads": 4,
         "num_hidden_layers": 2, "intermediate_size": 96, "hidden_act": "gelu" if parallel else "gelu_new", "rotary_pct": 0.5,
         "rotary_emb_base": 1000, "max_position_embeddings": 64, "layer_norm_eps": 1e-05, "use_parallel_residual": parallel,
         "tie_word_embeddings": False, "attention_bias": True, "bos_token_id": 0, "eos_token_id": 0, "torch_dtype": "float32"}
    torch.manual_seed(seed)
    H, heads, V, T, I = c["hidden_size"], c["num_attention_heads"], c["vocab_size"], 11, c["intermediate_size"]
    d = H // heads
    nd = int(d * c["rotary_pct"])
    state = {"embed_in.weight": nn.Embedding(V, H).weight.detach().clone()}
    for i in range(c["num_hidden_layers"]):
        at = f"layers.{i}."
        random_norm(state, at + "input_layernorm", H)
        random_linear(state, at + "attention.query_key_value", 3 * H, H)
        random_linear(state, at + "attention.dense", H, H)
        random_norm(state, at + "post_attention_layernorm", H)
        random_linear(state, at + "mlp.dense_h_to_4h", I, H)
        random_linear(state, at + "mlp.dense_4h_to_h", H, I)
    random_norm(state, "final_layer_norm", H)
    head = {"embed_out.weight": nn.Linear(H, V, bias=False).weight.detach().clone()}
    ids, lengths, blocked = padded_batch(V, T)
    rotated, inv_freq = partial_rotation(T, nd, c["rotary_emb_base"])  # GPTNeoXRotaryEmbedding(rotary_ndims, base)

    def layer_norm(x, prefix):
        return F.layer_norm(x, (H,), state[prefix + ".weight"], state[prefix + ".bias"], c["layer_norm_eps"])

    def linear(x, prefix):
        return F.linear(x, state[prefix + ".weight"], state[prefix + ".bias"])
    act = F.gelu if c["hidden_act"] == "gelu" else (lambda x: F.gelu(x, approximate="tanh"))
    with torch.no_grad():
        x = F.embedding(ids, state["embed_in.weight"])
        for i in range(c["num_hidden_layers"]):
            at = f"layers.{i}."
            qkv = linear(layer_norm(x, at + "input_layernorm"), at + "attention.query_key_value").view(2, T, heads, 3 * d).permute(0, 2, 1, 3)
            q, k, v = rotated(qkv[..., :d]), rotated(qkv[..., d:2 * d]), qkv[..., 2 * d:]
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(d)
            weights = scores.masked_fill(blocked, torch.finfo(torch.float32).min).softmax(-1)
            attended = linear((weights @ v).permute(0, 2, 1, 3).reshape(2, T, H), at + "attention.dense")
            if parallel:
                mlp = linear(act(linear(layer_norm(x, at + "post_attention_layernorm"), at + "mlp.dense_h_to_4h")), at + "mlp.dense_4h_to_h")
                x = mlp + attended + x
            else:
                x = attended + x
                x = linear(act(linear(layer_norm(x, at + "post_attention_layernorm"), at + "mlp.dense_h_to_4h")), at + "mlp.dense_4h_to_h") + x
        logits = layer_norm(x, "final_layer_norm") @ head["embed_out.weight"].T
    tensors = {"gpt_neox." + n: t for n, t in state.items()}
    tensors.update(head)
    # the buffers older checkpoints hold (the causal mask, its fill value, the rotation's frequencies): nothing to load
    tensors["gpt_neox.layers.0.attention.bias"] = torch.tril(torch.ones(64, 64, dtype=torch.bool)).view(1, 1, 64, 64)
    tensors["gpt_neox.layers.0.attention.masked_bias"] = torch.tensor(-1e9)
    tensors["gpt_neox.layers.0.attention.rotary_emb.inv_freq"] = inv_freq
    write_hf_fixture(name, c, tensors, ids, lengths, logits)


def make_hf_phi():
    """HfPhi: PhiForCausalLM (phi-1, phi-1_5, phi-2) as save_pretrained writes it ("model." prefix, float32, lm_head untied with a
    bias), transformers' modeling_phi written out: embed_tokens; 2 layers of 4 heads over 2 key/value heads over a width of 40
    (head_dim 10), each input_layernorm (one norm for both branches), self_attn.q_proj, k_proj and v_proj with biases, the
    rotation of each head's first int(partial_rotary_factor * 10) = 4 values (rotate_half, base rope_theta 500), the scores
    q k^T / sqrt(10), the causal and padding masks, self_attn.dense; mlp.fc1 (80), gelu_new, mlp.fc2; the layer's output
    attn + mlp + x; final_layernorm, lm_head. Two sequences of 11 steps, the second padded after 7."""
    c = {"architectures": ["PhiForCausalLM"], "model_type": "phi", "vocab_size": 27, "hidden_size": 40, "intermediate_size": 80,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "gelu_new", "max_position_embeddings": 64,
         "layer_norm_eps": 1e-05, "tie_word_embeddings": False, "rope_theta": 500.0, "rope_scaling": None, "partial_rotary_factor": 0.4,
         "qk_layernorm": False, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
    torch.manual_seed(907)
    H, heads, kv, V, T, I = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["vocab_size"], 11, c["intermediate_size"]
    d = H // heads
    nd = int(d * c["partial_rotary_factor"])
    state = {"model.embed_tokens.weight": nn.Embedding(V, H).weight.detach().clone()}
    for i in range(c["num_hidden_layers"]):
        at = f"model.layers.{i}."
        random_norm(state, at + "input_layernorm", H)
        random_split_attention(state, at + "self_attn.", heads, kv, d, H, "dense")
        random_linear(state, at + "mlp.fc1", I, H)
        random_linear(state, at + "mlp.fc2", H, I)
    random_norm(state, "model.final_layernorm", H)
    random_linear(state, "lm_head", V, H)
    ids, lengths, blocked = padded_batch(V, T)
    rotated, _ = partial_rotation(T, nd, c["rope_theta"])

    def linear(x, prefix):
        return F.linear(x, state[prefix + ".weight"], state[prefix + ".bias"])
    with torch.no_grad():
        x = F.embedding(ids, state["model.embed_tokens.weight"])
        for i in range(c["num_hidden_layers"]):
            at = f"model.layers.{i}."
            h = F.layer_norm(x, (H,), state[at + "input_layernorm.weight"], state[at + "input_layernorm.bias"], c["layer_norm_eps"])
            q = rotated(linear(h, at + "self_attn.q_proj").view(2, T, heads, d).transpose(1, 2))
            k = rotated(linear(h, at + "self_attn.k_proj").view(2, T, kv, d).transpose(1, 2)).repeat_interleave(heads // kv, dim=1)
            v = linear(h, at + "self_attn.v_proj").view(2, T, kv, d).transpose(1, 2).repeat_interleave(heads // kv, dim=1)
            weights = ((q @ k.transpose(-1, -2)) / math.sqrt(d)).masked_fill(blocked, torch.finfo(torch.float32).min).softmax(-1)
            attended = linear((weights @ v).transpose(1, 2).reshape(2, T, heads * d), at + "self_attn.dense")
            fed = linear(F.gelu(linear(h, at + "mlp.fc1"), approximate="tanh"), at + "mlp.fc2")
            x = attended + fed + x
        x = F.layer_norm(x, (H,), state["model.final_layernorm.weight"], state["model.final_layernorm.bias"], c["layer_norm_eps"])
        logits = linear(x, "lm_head")
    write_hf_fixture("HfPhi", c, state, ids, lengths, logits)


def every_two_rotation(T, nd):
    """GPT-J's and CodeGen's rotary embedding over each head's first nd values at positions 0 to T - 1: rotate_every_two, the
    pairs (2j, 2j + 1) turned by p * 10000^(-2j/nd) (create_sinusoidal_positions, its sines and cosines repeat_interleave'd), the
    rest passed; of [B, T, heads, d], as their attention applies it before moving the heads forward."""
    inv_freq = 1.0 / (10000 ** (torch.arange(0, nd, 2, dtype=torch.int64) / nd))
    sinusoid = torch.einsum("i , j -> i j", torch.arange(T, dtype=torch.int64).float(), inv_freq).float()
    sin = torch.repeat_interleave(sinusoid.sin()[None, :, None, :], 2, 3)
    cos = torch.repeat_interleave(sinusoid.cos()[None, :, None, :], 2, 3)

    def rotated(x):
        turned = x[..., :nd]
        every_two = torch.stack((-turned[..., 1::2], turned[..., ::2]), dim=-1).flatten(-2)
        return torch.cat([turned * cos + every_two * sin, x[..., nd:]], dim=-1)
    return rotated


def make_hf_gptj(name, codegen, seed):
    """HfGptJ (GPTJForCausalLM: gpt-j-6b's layout) and HfCodeGen (CodeGenForCausalLM: codegen's) as save_pretrained writes them
    ("transformer." prefix, float32, lm_head untied with a bias), transformers' modeling_gptj and modeling_codegen written out:
    wte; 2 blocks, each ln_1 (one norm for both branches), the queries, keys and values without biases (GPT-J: attn.q_proj, k_proj
    and v_proj; CodeGen: attn.qkv_proj, its rows in mp_num = 4 groups, each a quarter of the heads' queries, then their values, then
    their keys), the rotation of each head's first rotary_dim values (rotate_every_two, base 10000), the scores q k^T / sqrt(d), the
    causal and padding masks, attn.out_proj (no bias); mlp.fc_in, gelu_new, mlp.fc_out; the block's output attn + mlp + x; ln_f,
    lm_head. GPT-J: 4 heads of 8 values, the first 4 turned, n_inner 64; CodeGen: 8 heads of 6, all turned, n_inner null (4 * 48).
    Two sequences of 11 steps, the second padded after 7; the buffers older checkpoints hold beside them."""
    if codegen:
        c = {"architectures": ["CodeGenForCausalLM"], "model_type": "codegen", "vocab_size": 29, "n_embd": 48, "n_head": 8, "n_layer": 2,
             "rotary_dim": 6, "n_inner": None, "n_positions": 64, "n_ctx": 64, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05,
             "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2,
             "torch_dtype": "float32"}
    else:
        c = {"architectures": ["GPTJForCausalLM"], "model_type": "gptj", "vocab_size": 31, "n_embd": 32, "n_head": 4, "n_layer": 2,
             "rotary_dim": 4, "n_inner": 64, "n_positions": 64, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05,
             "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2,
             "torch_dtype": "float32"}
    torch.manual_seed(seed)
    H, heads, V, T = c["n_embd"], c["n_head"], c["vocab_size"], 11
    I = c["n_inner"] or 4 * H
    d = H // heads
    state = {"wte.weight": nn.Embedding(V, H).weight.detach().clone()}
    for i in range(c["n_layer"]):
        at = f"h.{i}."
        random_norm(state, at + "ln_1", H)
        if codegen:
            random_linear(state, at + "attn.qkv_proj", 3 * H, H, bias=False)
        else:
            for part in ("q_proj", "k_proj", "v_proj"):
                random_linear(state, at + "attn." + part, H, H, bias=False)
        random_linear(state, at + "attn.out_proj", H, H, bias=False)
        random_linear(state, at + "mlp.fc_in", I, H)
        random_linear(state, at + "mlp.fc_out", H, I)
    random_norm(state, "ln_f", H)
    head = {}
    random_linear(head, "lm_head", V, H)
    ids, lengths, blocked = padded_batch(V, T)
    rotated = every_two_rotation(T, c["rotary_dim"])

    def linear(x, prefix, s=state):
        return F.linear(x, s[prefix + ".weight"], s.get(prefix + ".bias"))

    def layer_norm(x, prefix):
        return F.layer_norm(x, (H,), state[prefix + ".weight"], state[prefix + ".bias"], c["layer_norm_epsilon"])
    with torch.no_grad():
        x = F.embedding(ids, state["wte.weight"])
        for i in range(c["n_layer"]):
            at = f"h.{i}."
            h = layer_norm(x, at + "ln_1")
            if codegen:  # CodeGenAttention: qkv reshaped to [.., mp_num, 3 * local], split as query, value, key, each to [.., heads, d]
                groups = linear(h, at + "attn.qkv_proj").reshape(2, T, 4, -1)
                q, v, k = (part.reshape(2, T, heads, d) for part in torch.split(groups, H // 4, dim=-1))
            else:
                q, k, v = (linear(h, at + "attn." + part).view(2, T, heads, d) for part in ("q_proj", "k_proj", "v_proj"))
            q, k, v = rotated(q).permute(0, 2, 1, 3), rotated(k).permute(0, 2, 1, 3), v.permute(0, 2, 1, 3)
            weights = ((q @ k.transpose(-1, -2)) / math.sqrt(d)).masked_fill(blocked, torch.finfo(torch.float32).min).softmax(-1)
            attended = linear((weights @ v).permute(0, 2, 1, 3).reshape(2, T, H), at + "attn.out_proj")
            fed = linear(F.gelu(linear(h, at + "mlp.fc_in"), approximate="tanh"), at + "mlp.fc_out")
            x = attended + fed + x
        logits = linear(layer_norm(x, "ln_f"), "lm_head", head)
    tensors = {"transformer." + n: t for n, t in state.items()}
    tensors.update(head)
    # the buffers older checkpoints hold (the causal mask, its fill value): nothing to load
    tensors["transformer.h.0.attn." + ("causal_mask" if codegen else "bias")] = torch.tril(torch.ones(64, 64, dtype=torch.bool)).view(1, 1, 64, 64)
    tensors["transformer.h.0.attn.masked_bias"] = torch.tensor(-1e9)
    write_hf_fixture(name, c, tensors, ids, lengths, logits)


def make_hf_opt(name, pre_norm, seed):
    """HfOpt (OPTForCausalLM, opt-125m's layout: pre-norm, the token table as wide as the layers) and HfOptPostNorm (opt-350m's:
    do_layer_norm_before false, word_embed_proj_dim narrower, project_in and project_out) as save_pretrained writes them ("model."
    prefix, float32, lm_head tied to embed_tokens and left out), transformers' modeling_opt written out: embed_tokens (project_in), the
    learned positions read at cumsum(mask) * mask - 1 + 2 (OPTLearnedPositionalEmbedding's offset of 2 rows); per layer
    self_attn_layer_norm, q_proj (times head_dim^-0.5), k_proj, v_proj and out_proj with biases, the causal and padding masks,
    the residual, final_layer_norm, fc1, relu, fc2, the residual (post-norm: each norm after its residual); decoder.final_layer_norm
    (pre-norm), project_out, the tied lm_head. Two sequences of 11 steps, the second padded after 7."""
    if pre_norm:
        c = {"architectures": ["OPTForCausalLM"], "model_type": "opt", "vocab_size": 37, "hidden_size": 32, "word_embed_proj_dim": 32,
             "num_hidden_layers": 2, "num_attention_heads": 4, "ffn_dim": 64, "max_position_embeddings": 16, "do_layer_norm_before": True,
             "_remove_final_layer_norm": False, "activation_function": "relu", "enable_bias": True, "layer_norm_elementwise_affine": True,
             "dropout": 0.1, "attention_dropout": 0.0, "tie_word_embeddings": True, "pad_token_id": 1, "bos_token_id": 2, "eos_token_id": 2,
             "torch_dtype": "float32"}
    else:
        c = {"architectures": ["OPTForCausalLM"], "model_type": "opt", "vocab_size": 33, "hidden_size": 32, "word_embed_proj_dim": 16,
             "num_hidden_layers": 2, "num_attention_heads": 2, "ffn_dim": 48, "max_position_embeddings": 16, "do_layer_norm_before": False,
             "_remove_final_layer_norm": False, "activation_function": "relu", "enable_bias": True, "layer_norm_elementwise_affine": True,
             "dropout": 0.1, "attention_dropout": 0.0, "tie_word_embeddings": True, "pad_token_id": 1, "bos_token_id": 2, "eos_token_id": 2,
             "torch_dtype": "float32"}
    torch.manual_seed(seed)
    H, P, heads, V, T, F_ = c["hidden_size"], c["word_embed_proj_dim"], c["num_attention_heads"], c["vocab_size"], 11, c["ffn_dim"]
    d = H // heads
    state = {"model.decoder.embed_tokens.weight": nn.Embedding(V, P).weight.detach().clone(),
             "model.decoder.embed_positions.weight": nn.Embedding(c["max_position_embeddings"] + 2, H).weight.detach().clone()}
    if P != H:
        random_linear(state, "model.decoder.project_in", H, P, bias=False)
        random_linear(state, "model.decoder.project_out", P, H, bias=False)
    for i in range(c["num_hidden_layers"]):
        at = f"model.decoder.layers.{i}."
        random_norm(state, at + "self_attn_layer_norm", H)
        for part in ("q_proj", "k_proj", "v_proj", "out_proj"):
            random_linear(state, at + "self_attn." + part, H, H)
        random_norm(state, at + "final_layer_norm", H)
        random_linear(state, at + "fc1", F_, H)
        random_linear(state, at + "fc2", H, F_)
    if pre_norm:
        random_norm(state, "model.decoder.final_layer_norm", H)
    ids, lengths, blocked = padded_batch(V, T)

    def linear(x, prefix):
        return F.linear(x, state[prefix + ".weight"], state.get(prefix + ".bias"))

    def layer_norm(x, prefix):
        return F.layer_norm(x, (H,), state[prefix + ".weight"], state[prefix + ".bias"], 1e-5)
    with torch.no_grad():
        x = F.embedding(ids, state["model.decoder.embed_tokens.weight"])
        if P != H:
            x = linear(x, "model.decoder.project_in")
        mask = (torch.arange(T)[None, :] < lengths[:, None]).long()
        positions = torch.cumsum(mask, dim=1) * mask - 1
        x = x + F.embedding(positions + 2, state["model.decoder.embed_positions.weight"])
        for i in range(c["num_hidden_layers"]):
            at = f"model.decoder.layers.{i}."
            h = layer_norm(x, at + "self_attn_layer_norm") if pre_norm else x
            q = (linear(h, at + "self_attn.q_proj") * d ** -0.5).view(2, T, heads, d).transpose(1, 2)
            k = linear(h, at + "self_attn.k_proj").view(2, T, heads, d).transpose(1, 2)
            v = linear(h, at + "self_attn.v_proj").view(2, T, heads, d).transpose(1, 2)
            weights = (q @ k.transpose(-1, -2)).masked_fill(blocked, torch.finfo(torch.float32).min).softmax(-1)
            x = x + linear((weights @ v).transpose(1, 2).reshape(2, T, H), at + "self_attn.out_proj")
            if not pre_norm:
                x = layer_norm(x, at + "self_attn_layer_norm")
            h = layer_norm(x, at + "final_layer_norm") if pre_norm else x
            x = x + linear(F.relu(linear(h, at + "fc1")), at + "fc2")
            if not pre_norm:
                x = layer_norm(x, at + "final_layer_norm")
        if pre_norm:
            x = layer_norm(x, "model.decoder.final_layer_norm")
        if P != H:
            x = linear(x, "model.decoder.project_out")
        logits = x @ state["model.decoder.embed_tokens.weight"].T
    write_hf_fixture(name, c, state, ids, lengths, logits)


def make_hf_gpt_neo():
    """HfGptNeo: GPTNeoForCausalLM (gpt-neo-125m's and the TinyStories models' layout) as save_pretrained writes it ("transformer."
    prefix, float32, lm_head tied to wte and left out), transformers' modeling_gpt_neo written out: wte + wpe; 2 blocks of 4 heads over a
    width of 32, the first global, the second local (each query sees its window_size = 4 latest steps, its own included), each ln_1,
    attn.attention.q_proj, k_proj and v_proj without biases, the scores q k^T unscaled, the causal (and local) and padding masks,
    out_proj with its bias, the residual; ln_2, mlp.c_fc (intermediate_size null: 4 * 32), gelu_new, mlp.c_proj, the residual; ln_f and
    the tied head. Two sequences of 11 steps, the second padded after 7; each block's mask buffers as older checkpoints hold them."""
    c = {"architectures": ["GPTNeoForCausalLM"], "model_type": "gpt_neo", "vocab_size": 41, "hidden_size": 32, "num_layers": 2, "num_heads": 4,
         "max_position_embeddings": 16, "intermediate_size": None, "window_size": 4, "attention_types": [[["global", "local"], 1]],
         "attention_layers": ["global", "local"], "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05, "embed_dropout": 0.0,
         "resid_dropout": 0.0, "attention_dropout": 0.0, "bos_token_id": 0, "eos_token_id": 0, "torch_dtype": "float32"}
    torch.manual_seed(1011)
    H, heads, V, T, N = c["hidden_size"], c["num_heads"], c["vocab_size"], 11, c["max_position_embeddings"]
    I, d, window = 4 * H, H // heads, c["window_size"]
    state = {"wte.weight": nn.Embedding(V, H).weight.detach().clone(), "wpe.weight": nn.Embedding(N, H).weight.detach().clone()}
    for i in range(c["num_layers"]):
        at = f"h.{i}."
        random_norm(state, at + "ln_1", H)
        for part in ("q_proj", "k_proj", "v_proj"):
            random_linear(state, at + "attn.attention." + part, H, H, bias=False)
        random_linear(state, at + "attn.attention.out_proj", H, H)
        random_norm(state, at + "ln_2", H)
        random_linear(state, at + "mlp.c_fc", I, H)
        random_linear(state, at + "mlp.c_proj", H, I)
    random_norm(state, "ln_f", H)
    ids, lengths, blocked = padded_batch(V, T)
    causal = torch.tril(torch.ones(N, N, dtype=torch.bool))
    local = torch.bitwise_xor(causal, torch.tril(causal, -window))  # GPTNeoSelfAttention's local mask

    def linear(x, prefix):
        return F.linear(x, state[prefix + ".weight"], state.get(prefix + ".bias"))

    def layer_norm(x, prefix):
        return F.layer_norm(x, (H,), state[prefix + ".weight"], state[prefix + ".bias"], c["layer_norm_epsilon"])
    with torch.no_grad():
        x = F.embedding(ids, state["wte.weight"]) + state["wpe.weight"][:T]
        for i, kind in enumerate(c["attention_layers"]):
            at = f"h.{i}."
            h = layer_norm(x, at + "ln_1")
            q, k, v = (linear(h, at + "attn.attention." + part).view(2, T, heads, d).transpose(1, 2) for part in ("q_proj", "k_proj", "v_proj"))
            sees = (local if kind == "local" else causal)[:T, :T]
            weights = (q @ k.transpose(-1, -2)).masked_fill(blocked | ~sees, torch.finfo(torch.float32).min).softmax(-1)
            x = x + linear((weights @ v).transpose(1, 2).reshape(2, T, H), at + "attn.attention.out_proj")
            x = x + linear(F.gelu(linear(layer_norm(x, at + "ln_2"), at + "mlp.c_fc"), approximate="tanh"), at + "mlp.c_proj")
        logits = layer_norm(x, "ln_f") @ state["wte.weight"].T
    tensors = {"transformer." + n: t for n, t in state.items()}
    # the mask buffers older checkpoints hold (each block's, the local one's banded): nothing to load
    for i, kind in enumerate(c["attention_layers"]):
        tensors[f"transformer.h.{i}.attn.attention.bias"] = (local if kind == "local" else causal).view(1, 1, N, N)
        tensors[f"transformer.h.{i}.attn.attention.masked_bias"] = torch.tensor(-1e9)
    write_hf_fixture("HfGptNeo", c, tensors, ids, lengths, logits)


def make_hf_starcoder2():
    """HfStarcoder2: Starcoder2ForCausalLM (starcoder2-3b's layout) as save_pretrained writes it ("model." prefix, float32, lm_head
    tied to embed_tokens by tie_word_embeddings' default and left out), transformers' modeling_starcoder2 written out: embed_tokens;
    2 layers of 4 heads over 2 key/value heads of 8 values, each input_layernorm (LayerNorm, norm_epsilon), q_proj, k_proj, v_proj
    and o_proj with biases (use_bias), the rotation of whole heads (rotate_half, base rope_theta 5000), the scores q k^T / sqrt(8),
    the causal, sliding_window (5: each query sees its 5 latest steps) and padding masks, the residual; post_attention_layernorm,
    mlp.c_fc (64), gelu_pytorch_tanh, mlp.c_proj, the residual; model.norm, the tied head. Two sequences of 11 steps, the second
    padded after 7."""
    c = {"architectures": ["Starcoder2ForCausalLM"], "model_type": "starcoder2", "vocab_size": 43, "hidden_size": 32, "intermediate_size": 64,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "gelu_pytorch_tanh", "max_position_embeddings": 64,
         "norm_epsilon": 1e-05, "rope_theta": 5000.0, "rope_scaling": None, "sliding_window": 5, "use_bias": True, "attention_dropout": 0.0,
         "residual_dropout": 0.0, "embedding_dropout": 0.0, "bos_token_id": 0, "eos_token_id": 0, "torch_dtype": "float32"}
    torch.manual_seed(1021)
    H, heads, kv, V, T, I = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["vocab_size"], 11, c["intermediate_size"]
    d, window = H // heads, c["sliding_window"]
    state = {"model.embed_tokens.weight": nn.Embedding(V, H).weight.detach().clone()}
    for i in range(c["num_hidden_layers"]):
        at = f"model.layers.{i}."
        random_norm(state, at + "input_layernorm", H)
        random_split_attention(state, at + "self_attn.", heads, kv, d, H, "o_proj")
        random_norm(state, at + "post_attention_layernorm", H)
        random_linear(state, at + "mlp.c_fc", I, H)
        random_linear(state, at + "mlp.c_proj", H, I)
    random_norm(state, "model.norm", H)
    ids, lengths, blocked = padded_batch(V, T)
    rotated, _ = partial_rotation(T, d, c["rope_theta"])
    i_, j_ = torch.arange(T)[:, None], torch.arange(T)[None, :]
    outside = (j_ <= i_ - window)[None, None]  # the sliding window: key j seen by query i when i - window < j

    def linear(x, prefix):
        return F.linear(x, state[prefix + ".weight"], state[prefix + ".bias"])

    def layer_norm(x, prefix):
        return F.layer_norm(x, (H,), state[prefix + ".weight"], state[prefix + ".bias"], c["norm_epsilon"])
    with torch.no_grad():
        x = F.embedding(ids, state["model.embed_tokens.weight"])
        for i in range(c["num_hidden_layers"]):
            at = f"model.layers.{i}."
            h = layer_norm(x, at + "input_layernorm")
            q = rotated(linear(h, at + "self_attn.q_proj").view(2, T, heads, d).transpose(1, 2))
            k = rotated(linear(h, at + "self_attn.k_proj").view(2, T, kv, d).transpose(1, 2)).repeat_interleave(heads // kv, dim=1)
            v = linear(h, at + "self_attn.v_proj").view(2, T, kv, d).transpose(1, 2).repeat_interleave(heads // kv, dim=1)
            weights = ((q @ k.transpose(-1, -2)) / math.sqrt(d)).masked_fill(blocked | outside, torch.finfo(torch.float32).min).softmax(-1)
            x = x + linear((weights @ v).transpose(1, 2).reshape(2, T, H), at + "self_attn.o_proj")
            x = x + linear(F.gelu(linear(layer_norm(x, at + "post_attention_layernorm"), at + "mlp.c_fc"), approximate="tanh"), at + "mlp.c_proj")
        logits = layer_norm(x, "model.norm") @ state["model.embed_tokens.weight"].T
    write_hf_fixture("HfStarcoder2", c, state, ids, lengths, logits)


def make_hf_stablelm(name, parallel, seed):
    """HfStableLm (stablelm-2's layers: use_qkv_bias true, sequential) and HfStableLmParallel (use_parallel_residual true, no qkv
    biases): StableLmForCausalLM as save_pretrained writes it ("model." prefix, float32, lm_head untied without a bias),
    transformers' modeling_stablelm written out: embed_tokens; 2 layers of 2 heads over 1 key/value head of 16 values, each
    input_layernorm (LayerNorm with its bias), q_proj, k_proj and v_proj (their biases with use_qkv_bias), the rotation of each
    head's first int(partial_rotary_factor * 16) = 4 values (rotate_half, base rope_theta 2000), the scores q k^T / sqrt(16), the
    causal and padding masks, o_proj (no bias); then post_attention_layernorm and the SwiGLU mlp (down(silu(gate(x)) * up(x)), no
    biases) after the attention's residual, or, parallel, x + attn(ln(x)) + mlp(ln(x)) with the one norm; model.norm, lm_head.
    Two sequences of 11 steps, the second padded after 7."""
    c = {"architectures": ["StableLmForCausalLM"], "model_type": "stablelm", "vocab_size": 29, "hidden_size": 32, "intermediate_size": 48,
         "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "hidden_act": "silu", "max_position_embeddings": 64,
         "layer_norm_eps": 1e-05, "use_qkv_bias": not parallel, "qk_layernorm": False, "use_parallel_residual": parallel,
         "partial_rotary_factor": 0.25, "rope_theta": 2000, "rope_scaling": None, "tie_word_embeddings": False, "hidden_dropout": 0.0,
         "attention_dropout": 0.0, "bos_token_id": 0, "eos_token_id": 0, "torch_dtype": "float32"}
    torch.manual_seed(seed)
    H, heads, kv, V, T, I = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["vocab_size"], 11, c["intermediate_size"]
    d = H // heads
    nd = int(d * c["partial_rotary_factor"])
    state = {"model.embed_tokens.weight": nn.Embedding(V, H).weight.detach().clone()}
    for i in range(c["num_hidden_layers"]):
        at = f"model.layers.{i}."
        random_norm(state, at + "input_layernorm", H)
        random_split_attention(state, at + "self_attn.", heads, kv, d, H, "o_proj", bias=c["use_qkv_bias"], output_bias=False)
        if not parallel:
            random_norm(state, at + "post_attention_layernorm", H)
        random_linear(state, at + "mlp.gate_proj", I, H, bias=False)
        random_linear(state, at + "mlp.up_proj", I, H, bias=False)
        random_linear(state, at + "mlp.down_proj", H, I, bias=False)
    random_norm(state, "model.norm", H)
    random_linear(state, "lm_head", V, H, bias=False)
    ids, lengths, blocked = padded_batch(V, T)
    rotated, _ = partial_rotation(T, nd, c["rope_theta"])

    def linear(x, prefix):
        return F.linear(x, state[prefix + ".weight"], state.get(prefix + ".bias"))

    def norm(x, prefix):
        return F.layer_norm(x, (H,), state[prefix + ".weight"], state[prefix + ".bias"], c["layer_norm_eps"])

    def mlp(x, at):
        return linear(F.silu(linear(x, at + "mlp.gate_proj")) * linear(x, at + "mlp.up_proj"), at + "mlp.down_proj")
    with torch.no_grad():
        x = F.embedding(ids, state["model.embed_tokens.weight"])
        for i in range(c["num_hidden_layers"]):
            at = f"model.layers.{i}."
            h = norm(x, at + "input_layernorm")
            q = rotated(linear(h, at + "self_attn.q_proj").view(2, T, heads, d).transpose(1, 2))
            k = rotated(linear(h, at + "self_attn.k_proj").view(2, T, kv, d).transpose(1, 2)).repeat_interleave(heads // kv, dim=1)
            v = linear(h, at + "self_attn.v_proj").view(2, T, kv, d).transpose(1, 2).repeat_interleave(heads // kv, dim=1)
            weights = ((q @ k.transpose(-1, -2)) / math.sqrt(d)).masked_fill(blocked, torch.finfo(torch.float32).min).softmax(-1)
            attended = linear((weights @ v).transpose(1, 2).reshape(2, T, heads * d), at + "self_attn.o_proj")
            if parallel:
                x = x + attended + mlp(h, at)
            else:
                x = x + attended
                x = x + mlp(norm(x, at + "post_attention_layernorm"), at)
        logits = linear(norm(x, "model.norm"), "lm_head")
    write_hf_fixture(name, c, state, ids, lengths, logits)


def make_hf_olmo(name, tied, bias, seed, clip=None):
    """HfOlmo (OLMo-1B's: tie_word_embeddings, no attention_bias; here 4 heads over 2 key/value heads) and HfOlmoBiased
    (attention_bias on q, k, v and o_proj, lm_head untied; 2 heads), HfOlmoClipped (that and OLMo 1.7's clip_qkv, here 0.6:
    each projected query, key and value clamped): OlmoForCausalLM as save_pretrained writes it ("model."
    prefix, float32, a tied lm_head left out), transformers' modeling_olmo written out: embed_tokens; 2 layers, each
    input_layernorm (OlmoLayerNorm: F.layer_norm with no weight and no bias, eps 1e-5), q_proj, k_proj and v_proj, the rotation of
    each whole head (rotate_half, base rope_theta 5000), the scores q k^T / sqrt(d), the causal and padding masks, o_proj; the
    residual, post_attention_layernorm, the SwiGLU mlp (down(silu(gate(x)) * up(x)), no biases), the residual; model.norm,
    lm_head. Two sequences of 11 steps, the second padded after 7."""
    heads, kv = (4, 2) if tied else (2, 2)
    c = {"architectures": ["OlmoForCausalLM"], "model_type": "olmo", "vocab_size": 31, "hidden_size": 32, "intermediate_size": 40,
         "num_hidden_layers": 2, "num_attention_heads": heads, "num_key_value_heads": kv, "hidden_act": "silu", "max_position_embeddings": 64,
         "rope_theta": 5000.0, "rope_scaling": None, "attention_bias": bias, "attention_dropout": 0.0, "clip_qkv": clip,
         "tie_word_embeddings": tied, "pad_token_id": 1, "eos_token_id": 0, "torch_dtype": "float32"}
    torch.manual_seed(seed)
    H, V, T, I = c["hidden_size"], c["vocab_size"], 11, c["intermediate_size"]
    d = H // heads
    state = {"model.embed_tokens.weight": nn.Embedding(V, H).weight.detach().clone()}
    for i in range(c["num_hidden_layers"]):
        at = f"model.layers.{i}."
        random_split_attention(state, at + "self_attn.", heads, kv, d, H, "o_proj", bias=bias)
        random_linear(state, at + "mlp.gate_proj", I, H, bias=False)
        random_linear(state, at + "mlp.up_proj", I, H, bias=False)
        random_linear(state, at + "mlp.down_proj", H, I, bias=False)
    if not tied:
        random_linear(state, "lm_head", V, H, bias=False)
    ids, lengths, blocked = padded_batch(V, T)
    rotated, _ = partial_rotation(T, d, c["rope_theta"])

    def linear(x, prefix):
        return F.linear(x, state[prefix + ".weight"], state.get(prefix + ".bias"))

    def norm(x):
        return F.layer_norm(x, (H,), None, None, eps=1e-5)

    def mlp(x, at):
        return linear(F.silu(linear(x, at + "mlp.gate_proj")) * linear(x, at + "mlp.up_proj"), at + "mlp.down_proj")
    with torch.no_grad():
        x = F.embedding(ids, state["model.embed_tokens.weight"])
        for i in range(c["num_hidden_layers"]):
            at = f"model.layers.{i}."
            h = norm(x)
            q, k, v = (linear(h, at + "self_attn." + p) for p in ("q_proj", "k_proj", "v_proj"))
            if clip is not None:
                q, k, v = q.clamp(-clip, clip), k.clamp(-clip, clip), v.clamp(-clip, clip)
            q = rotated(q.view(2, T, heads, d).transpose(1, 2))
            k = rotated(k.view(2, T, kv, d).transpose(1, 2)).repeat_interleave(heads // kv, dim=1)
            v = v.view(2, T, kv, d).transpose(1, 2).repeat_interleave(heads // kv, dim=1)
            weights = ((q @ k.transpose(-1, -2)) / math.sqrt(d)).masked_fill(blocked, torch.finfo(torch.float32).min).softmax(-1)
            x = x + linear((weights @ v).transpose(1, 2).reshape(2, T, heads * d), at + "self_attn.o_proj")
            x = x + mlp(norm(x), at)
        logits = F.linear(norm(x), state["model.embed_tokens.weight"] if tied else state["lm_head.weight"])
    write_hf_fixture(name, c, state, ids, lengths, logits)


def make_hf_olmo2(name, tied, seed):
    """HfOlmo2 (OLMo 2's layers: 4 heads over 2 key/value heads of 8 values, lm_head untied) and HfOlmo2Tied (2 heads of 16, the
    output tied to the token table): Olmo2ForCausalLM as save_pretrained writes it ("model." prefix, float32), transformers'
    modeling_olmo2 written out: embed_tokens; 2 layers, each q_proj, k_proj and v_proj (no biases), q_norm over all the
    queries (RMSNorm(heads * d)) and k_norm over all the keys (RMSNorm(kv_heads * d)), eps rms_norm_eps 1e-6, the rotation of
    each whole head (rotate_half, base rope_theta 500000), the scores q k^T / sqrt(d), the causal and padding masks, o_proj;
    post_attention_layernorm on the attention's output before the residual adds it; the SwiGLU mlp (no biases),
    post_feedforward_layernorm on its output before the residual; model.norm, lm_head. Two sequences of 11 steps, the second
    padded after 7."""
    heads, kv = (2, 2) if tied else (4, 2)
    c = {"architectures": ["Olmo2ForCausalLM"], "model_type": "olmo2", "vocab_size": 31, "hidden_size": 32, "intermediate_size": 40,
         "num_hidden_layers": 2, "num_attention_heads": heads, "num_key_value_heads": kv, "hidden_act": "silu", "max_position_embeddings": 64,
         "rope_theta": 500000.0, "rope_scaling": None, "attention_bias": False, "attention_dropout": 0.0, "rms_norm_eps": 1e-06,
         "tie_word_embeddings": tied, "pad_token_id": 1, "eos_token_id": 0, "torch_dtype": "float32"}
    torch.manual_seed(seed)
    H, V, T, I = c["hidden_size"], c["vocab_size"], 11, c["intermediate_size"]
    d, eps = H // heads, c["rms_norm_eps"]
    state = {"model.embed_tokens.weight": nn.Embedding(V, H).weight.detach().clone()}
    for i in range(c["num_hidden_layers"]):
        at = f"model.layers.{i}."
        random_split_attention(state, at + "self_attn.", heads, kv, d, H, "o_proj", bias=False)
        state[at + "self_attn.q_norm.weight"] = torch.empty(heads * d).uniform_(0.5, 1.5)
        state[at + "self_attn.k_norm.weight"] = torch.empty(kv * d).uniform_(0.5, 1.5)
        random_norm(state, at + "post_attention_layernorm", H, bias=False)
        random_linear(state, at + "mlp.gate_proj", I, H, bias=False)
        random_linear(state, at + "mlp.up_proj", I, H, bias=False)
        random_linear(state, at + "mlp.down_proj", H, I, bias=False)
        random_norm(state, at + "post_feedforward_layernorm", H, bias=False)
    random_norm(state, "model.norm", H, bias=False)
    if not tied:
        random_linear(state, "lm_head", V, H, bias=False)
    ids, lengths, blocked = padded_batch(V, T)
    rotated, _ = partial_rotation(T, d, c["rope_theta"])

    def linear(x, prefix):
        return F.linear(x, state[prefix + ".weight"], state.get(prefix + ".bias"))

    def norm(x, prefix):  # Olmo2RMSNorm (LlamaRMSNorm): x * rsqrt(mean(x^2) + eps) * weight
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * state[prefix + ".weight"]

    def mlp(x, at):
        return linear(F.silu(linear(x, at + "mlp.gate_proj")) * linear(x, at + "mlp.up_proj"), at + "mlp.down_proj")
    with torch.no_grad():
        x = F.embedding(ids, state["model.embed_tokens.weight"])
        for i in range(c["num_hidden_layers"]):
            at = f"model.layers.{i}."
            q = norm(linear(x, at + "self_attn.q_proj"), at + "self_attn.q_norm")
            k = norm(linear(x, at + "self_attn.k_proj"), at + "self_attn.k_norm")
            v = linear(x, at + "self_attn.v_proj")
            q = rotated(q.view(2, T, heads, d).transpose(1, 2))
            k = rotated(k.view(2, T, kv, d).transpose(1, 2)).repeat_interleave(heads // kv, dim=1)
            v = v.view(2, T, kv, d).transpose(1, 2).repeat_interleave(heads // kv, dim=1)
            weights = ((q @ k.transpose(-1, -2)) / math.sqrt(d)).masked_fill(blocked, torch.finfo(torch.float32).min).softmax(-1)
            attended = linear((weights @ v).transpose(1, 2).reshape(2, T, heads * d), at + "self_attn.o_proj")
            x = x + norm(attended, at + "post_attention_layernorm")
            x = x + norm(mlp(x, at), at + "post_feedforward_layernorm")
        logits = F.linear(norm(x, "model.norm"), state["model.embed_tokens.weight"] if tied else state["lm_head.weight"])
    write_hf_fixture(name, c, state, ids, lengths, logits)


def make_hf_granite(moe=False, shared=0):
    """HfGranite: GraniteForCausalLM as save_pretrained writes it ("model." prefix, float32, lm_head tied to embed_tokens and left
    out), transformers' modeling_granite written out: embed_tokens times embedding_multiplier (12); 2 layers of 4 heads over 2
    key/value heads of 8 values, each input_layernorm (RMSNorm, rms_norm_eps 1e-6), q_proj, k_proj, v_proj and o_proj with their
    biases (attention_bias), the rotation of each whole head (rotate_half, base 10000), the scores q k^T * attention_multiplier
    (0.125, not 1/sqrt(d)), the causal and padding masks; the residual adds the attention's output times residual_multiplier
    (0.25); post_attention_layernorm, the SwiGLU mlp with its biases (mlp_bias), its output times residual_multiplier; model.norm,
    the tied lm_head, the logits divided by logits_scaling (8). Two sequences of 11 steps, the second padded after 7.
    HfGraniteMoe (moe): GraniteMoeForCausalLM, modeling_granitemoe written out, the same but for the feed-forward: its
    block_sparse_moe, the router's (router.layer) scores, each row's top 2 of 4, the softmax of those two (GraniteMoeTopKGating),
    each chosen expert's input_linear.weight[e] [2I, H] (gate rows, then up rows: silu(gate) * up), output_linear.weight[e] [H, I],
    times its weight, added up (index_add_). HfGraniteMoeShared (shared): GraniteMoeSharedForCausalLM, modeling_granitemoeshared
    written out: besides, each layer's shared_mlp over every row — input_linear [2S, H] chunked into gate then up, silu(gate) * up,
    output_linear [H, S] — added to the experts' sum before the residual multiplier."""
    heads, kv, E, top_k = 4, 2, 4, 2
    architecture, model_type = ("GraniteMoeSharedForCausalLM", "granitemoeshared") if shared else ("GraniteMoeForCausalLM", "granitemoe") if moe else ("GraniteForCausalLM", "granite")
    c = {"architectures": [architecture], "model_type": model_type, "vocab_size": 29,
         "hidden_size": 32, "intermediate_size": 24 if moe else 40,
         "num_hidden_layers": 2, "num_attention_heads": heads, "num_key_value_heads": kv, "hidden_act": "silu", "max_position_embeddings": 64,
         "rope_theta": 10000.0, "rope_scaling": None, "rms_norm_eps": 1e-06, "attention_bias": True}
    if not moe:
        c["mlp_bias"] = True
    c.update({"attention_dropout": 0.0, "embedding_multiplier": 12.0, "residual_multiplier": 0.25, "attention_multiplier": 0.125, "logits_scaling": 8.0,
              "tie_word_embeddings": True, "pad_token_id": 0, "bos_token_id": 0, "eos_token_id": 0, "torch_dtype": "float32"})
    if moe:
        c.update({"num_local_experts": E, "num_experts_per_tok": top_k, "output_router_logits": False, "router_aux_loss_coef": 0.001, "position_embedding_type": "rope"})
    if shared:
        c["shared_intermediate_size"] = shared
    torch.manual_seed(992 if shared else 991 if moe else 990)
    H, V, T, I = c["hidden_size"], c["vocab_size"], 11, c["intermediate_size"]
    d, eps = H // heads, c["rms_norm_eps"]
    state = {"model.embed_tokens.weight": nn.Embedding(V, H).weight.detach().clone() * 0.1}
    for i in range(c["num_hidden_layers"]):
        at = f"model.layers.{i}."
        random_norm(state, at + "input_layernorm", H, bias=False)
        random_split_attention(state, at + "self_attn.", heads, kv, d, H, "o_proj", bias=True)
        random_norm(state, at + "post_attention_layernorm", H, bias=False)
        if moe:
            state[at + "block_sparse_moe.router.layer.weight"] = nn.Linear(H, E, bias=False).weight.detach().clone() * 4  # (a router that prefers)
            state[at + "block_sparse_moe.input_linear.weight"] = torch.randn(E, 2 * I, H) / math.sqrt(H)
            state[at + "block_sparse_moe.output_linear.weight"] = torch.randn(E, H, I) / math.sqrt(I)
            if shared:
                random_linear(state, at + "shared_mlp.input_linear", 2 * shared, H, bias=False)
                random_linear(state, at + "shared_mlp.output_linear", H, shared, bias=False)
        else:
            random_linear(state, at + "mlp.gate_proj", I, H)
            random_linear(state, at + "mlp.up_proj", I, H)
            random_linear(state, at + "mlp.down_proj", H, I)
    random_norm(state, "model.norm", H, bias=False)
    ids, lengths, blocked = padded_batch(V, T)
    rotated, _ = partial_rotation(T, d, c["rope_theta"])

    def linear(x, prefix):
        return F.linear(x, state[prefix + ".weight"], state.get(prefix + ".bias"))

    def norm(x, prefix):  # LlamaRMSNorm
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * state[prefix + ".weight"]

    def mlp(x, at):
        if not moe:
            return linear(F.silu(linear(x, at + "mlp.gate_proj")) * linear(x, at + "mlp.up_proj"), at + "mlp.down_proj")
        h = x.reshape(-1, H)  # GraniteMoeMoE
        logits = F.linear(h, state[at + "block_sparse_moe.router.layer.weight"])
        top_logits, chosen = logits.topk(top_k, dim=1)
        weights = torch.softmax(top_logits, dim=1)
        out = torch.zeros_like(h)
        for e in range(E):
            rows, slot = torch.where(chosen == e)
            if rows.numel() == 0:
                continue
            gate, up = F.linear(h[rows], state[at + "block_sparse_moe.input_linear.weight"][e]).chunk(2, dim=-1)
            y = F.linear(F.silu(gate) * up, state[at + "block_sparse_moe.output_linear.weight"][e])
            out.index_add_(0, rows, y * weights[rows, slot, None])
        if shared:  # GraniteMoeSharedMLP
            gate, up = linear(h, at + "shared_mlp.input_linear").chunk(2, dim=-1)
            out = out + linear(F.silu(gate) * up, at + "shared_mlp.output_linear")
        return out.reshape(x.shape)
    with torch.no_grad():
        x = F.embedding(ids, state["model.embed_tokens.weight"]) * c["embedding_multiplier"]
        for i in range(c["num_hidden_layers"]):
            at = f"model.layers.{i}."
            h = norm(x, at + "input_layernorm")
            q = rotated(linear(h, at + "self_attn.q_proj").view(2, T, heads, d).transpose(1, 2))
            k = rotated(linear(h, at + "self_attn.k_proj").view(2, T, kv, d).transpose(1, 2)).repeat_interleave(heads // kv, dim=1)
            v = linear(h, at + "self_attn.v_proj").view(2, T, kv, d).transpose(1, 2).repeat_interleave(heads // kv, dim=1)
            weights = ((q @ k.transpose(-1, -2)) * c["attention_multiplier"]).masked_fill(blocked, torch.finfo(torch.float32).min).softmax(-1)
            attended = linear((weights @ v).transpose(1, 2).reshape(2, T, heads * d), at + "self_attn.o_proj")
            x = x + attended * c["residual_multiplier"]
            x = x + mlp(norm(x, at + "post_attention_layernorm"), at) * c["residual_multiplier"]
        logits = F.linear(norm(x, "model.norm"), state["model.embed_tokens.weight"]) / c["logits_scaling"]
    write_hf_fixture("HfGraniteMoeShared" if shared else "HfGraniteMoe" if moe else "HfGranite", c, state, ids, lengths, logits)


def make_hf_cohere(name, seed, bias, tied, layer_types=None):
    """HfCohere, HfCohereUntied: CohereForCausalLM as save_pretrained writes it ("model." prefix, float32; a tied lm_head left out),
    transformers' modeling_cohere written out: embed_tokens; 2 parallel layers of 4 heads over 2 key/value heads of 8 values, each
    one input_layernorm (CohereLayerNorm: the mean taken out, no bias) feeding both the attention and the mlp, whose outputs the
    residual adds (x + attn(ln(x)) + mlp(ln(x))); q_proj, k_proj, v_proj and o_proj (their biases with attention_bias), the rotation
    of each head's pairs (2j, 2j + 1) (Cohere's rotate_half interleaves, its cos and sin repeat_interleave'd) at rope_theta 500, the
    scores q k^T / sqrt(d), the causal and padding masks; the SwiGLU mlp without biases; model.norm, lm_head (tied: embed_tokens),
    the logits times logit_scale (0.25). Two sequences of 11 steps, the second padded after 7. HfCohere2 (layer_types):
    Cohere2ForCausalLM, modeling_cohere2 written out: its "sliding_attention" layers turn the queries and keys and see the
    sliding_window (4) most recent steps (i - 4 < j <= i), its "full_attention" layers turn nothing and see every earlier step."""
    heads, kv = 4, 2
    second = layer_types is not None
    c = {"architectures": ["Cohere2ForCausalLM" if second else "CohereForCausalLM"], "model_type": "cohere2" if second else "cohere", "vocab_size": 27,
         "hidden_size": 32, "intermediate_size": 48,
         "logit_scale": 0.25, "num_hidden_layers": len(layer_types) if second else 2, "num_attention_heads": heads, "num_key_value_heads": kv, "hidden_act": "silu",
         "max_position_embeddings": 64, "layer_norm_eps": 1e-05, "rope_theta": 500.0, "rope_scaling": None, "attention_bias": bias,
         "attention_dropout": 0.0, "use_qk_norm": False, "tie_word_embeddings": tied, "pad_token_id": 0, "bos_token_id": 5,
         "eos_token_id": 2, "torch_dtype": "float32"}
    if second:
        del c["use_qk_norm"]
        c.update({"sliding_window": 4, "layer_types": list(layer_types)})
    torch.manual_seed(seed)
    H, V, T, I = c["hidden_size"], c["vocab_size"], 11, c["intermediate_size"]
    d, eps = H // heads, c["layer_norm_eps"]
    state = {"model.embed_tokens.weight": nn.Embedding(V, H).weight.detach().clone() * 0.5}
    for i in range(c["num_hidden_layers"]):
        at = f"model.layers.{i}."
        random_norm(state, at + "input_layernorm", H, bias=False)
        random_split_attention(state, at + "self_attn.", heads, kv, d, H, "o_proj", bias=bias)
        random_linear(state, at + "mlp.gate_proj", I, H, bias=False)
        random_linear(state, at + "mlp.up_proj", I, H, bias=False)
        random_linear(state, at + "mlp.down_proj", H, I, bias=False)
    random_norm(state, "model.norm", H, bias=False)
    if not tied:
        random_linear(state, "lm_head", V, H, bias=False)
    ids, lengths, blocked = padded_batch(V, T)
    inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, d, 2).float() / d))
    emb = torch.repeat_interleave(torch.outer(torch.arange(T).float(), inv_freq), 2, dim=-1)  # CohereRotaryEmbedding
    cos, sin = emb.cos(), emb.sin()

    def rotated(x):  # [B, heads, T, d]: Cohere's rotate_half, the pairs (2j, 2j + 1)
        return x * cos + torch.stack([-x[..., 1::2], x[..., ::2]], dim=-1).flatten(-2) * sin

    def linear(x, prefix):
        return F.linear(x, state[prefix + ".weight"], state.get(prefix + ".bias"))

    def norm(x, prefix):  # CohereLayerNorm
        mean = x.mean(-1, keepdim=True)
        variance = (x - mean).pow(2).mean(-1, keepdim=True)
        return (x - mean) * torch.rsqrt(variance + eps) * state[prefix + ".weight"]
    with torch.no_grad():
        x = F.embedding(ids, state["model.embed_tokens.weight"])
        for i in range(c["num_hidden_layers"]):
            at = f"model.layers.{i}."
            h = norm(x, at + "input_layernorm")
            sliding = not second or layer_types[i] == "sliding_attention"  # (Cohere's layers all turn; Cohere 2's full ones do not)
            turn = rotated if sliding else (lambda t: t)
            q = turn(linear(h, at + "self_attn.q_proj").view(2, T, heads, d).transpose(1, 2))
            k = turn(linear(h, at + "self_attn.k_proj").view(2, T, kv, d).transpose(1, 2)).repeat_interleave(heads // kv, dim=1)
            v = linear(h, at + "self_attn.v_proj").view(2, T, kv, d).transpose(1, 2).repeat_interleave(heads // kv, dim=1)
            mask = blocked
            if second and sliding:
                mask = blocked | (torch.arange(T)[:, None] - torch.arange(T)[None, :] >= c["sliding_window"])[None, None]
            weights = ((q @ k.transpose(-1, -2)) / math.sqrt(d)).masked_fill(mask, torch.finfo(torch.float32).min).softmax(-1)
            attended = linear((weights @ v).transpose(1, 2).reshape(2, T, heads * d), at + "self_attn.o_proj")
            mlp = linear(F.silu(linear(h, at + "mlp.gate_proj")) * linear(h, at + "mlp.up_proj"), at + "mlp.down_proj")
            x = x + attended + mlp
        logits = F.linear(norm(x, "model.norm"), state["model.embed_tokens.weight" if tied else "lm_head.weight"]) * c["logit_scale"]
    write_hf_fixture(name, c, state, ids, lengths, logits)


SPARSE_FAMILIES = {
    # model_type: (architecture, the mixture's prefix, the experts' (gate, up, down) names, the experts' key, the units' key, QK-norm)
    "mixtral": ("MixtralForCausalLM", "block_sparse_moe.", ("w1", "w3", "w2"), "num_local_experts", "intermediate_size", None),
    "olmoe": ("OlmoeForCausalLM", "mlp.", ("gate_proj", "up_proj", "down_proj"), "num_experts", "intermediate_size", "across"),
    "qwen3_moe": ("Qwen3MoeForCausalLM", "mlp.", ("gate_proj", "up_proj", "down_proj"), "num_experts", "moe_intermediate_size", "head"),
    "qwen2_moe": ("Qwen2MoeForCausalLM", "mlp.", ("gate_proj", "up_proj", "down_proj"), "num_experts", "moe_intermediate_size", None),
}


def make_hf_sparse(name, model_type, seed, window=None, tied=False, normalize=True, bias=False, head_dim=None, layers=2, sparse_step=1, mlp_only=()):
    """HfMixtral, HfMixtralTied, HfOlmoe, HfQwen3Moe, HfQwen2Moe: the sparse decoders as save_pretrained writes them ("model."
    prefix, float32, one tensor per expert and projection), transformers' modeling_mixtral, modeling_olmoe, modeling_qwen3_moe and
    modeling_qwen2_moe written out (Qwen2-MoE's attention with q, k and v biases and none on o_proj, as Qwen2's; its shared expert,
    down(silu(gate(x)) * up(x)) over every row times sigmoid(shared_expert_gate(x)), added to the routed experts' sum; HfQwen2MoeMixed
    and HfQwen3MoeMixed: 3 layers, some dense as Qwen2MoeDecoderLayer and Qwen3MoeDecoderLayer choose them — layer i sparse where i
    is not in mlp_only_layers and (i + 1) % decoder_sparse_step == 0, else the MLP down(silu(gate(x)) * up(x)) of intermediate_size):
    embed_tokens; 2 layers of 4 heads over 2 key/value heads (of 8 values, or head_dim), each input_layernorm (RMSNorm),
    q_proj, k_proj, v_proj and o_proj (their biases with attention_bias), QK-norm as the family has it (OLMoE's q_norm and
    k_norm over the whole projections, Qwen3-MoE's over each head's values), the rotation of each whole head (rotate_half), the
    scores q k^T / sqrt(d), the causal and padding masks (and, with window, each query's keys i - window < j <= i); then
    post_attention_layernorm and the sparse block: the router (the mixture's gate, no bias), the softmax of its scores, each
    row's top 2 of 4 experts (divided by their sum: Mixtral always, the others with norm_topk_prob), each chosen expert's
    down(silu(gate(x)) * up(x)) times its weight, added up (index_add_); model.norm, lm_head (tied: embed_tokens). Two
    sequences of 11 steps, the second padded after 7."""
    architecture, prefix, (gate_name, up_name, down_name), experts_key, units_key, qk = SPARSE_FAMILIES[model_type]
    heads, kv, E, k = 4, 2, 4, 2
    eps = 1e-6 if model_type in ("qwen3_moe", "qwen2_moe") else 1e-5
    theta = 1000000.0 if model_type == "mixtral" else 10000.0
    c = {"architectures": [architecture], "model_type": model_type, "vocab_size": 27, "hidden_size": 32, units_key: 24,
         "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv, "hidden_act": "silu", "max_position_embeddings": 64,
         "rms_norm_eps": eps, "rope_theta": theta, experts_key: E, "num_experts_per_tok": k,
         "output_router_logits": False, "router_aux_loss_coef": 0.001, "attention_dropout": 0.0,
         "tie_word_embeddings": tied, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
    if model_type == "mixtral":
        c.update({"sliding_window": window, "router_jitter_noise": 0.0})
    else:
        c.update({"norm_topk_prob": normalize, "attention_bias": bias})
    if model_type == "olmoe":
        c["clip_qkv"] = None
    if model_type == "qwen3_moe":
        c.update({"head_dim": head_dim, "decoder_sparse_step": sparse_step, "mlp_only_layers": list(mlp_only), "use_sliding_window": False, "sliding_window": None,
                  "intermediate_size": 48})
    if model_type == "qwen2_moe":  # (its configuration has no attention_bias: q, k and v always have biases, o_proj none)
        del c["attention_bias"]
        c.update({"decoder_sparse_step": sparse_step, "mlp_only_layers": list(mlp_only), "use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 28,
                  "intermediate_size": 48, "shared_expert_intermediate_size": 20})
    torch.manual_seed(seed)
    H, V, T, I = c["hidden_size"], c["vocab_size"], 11, c[units_key]
    d = head_dim or H // heads

    def sparse(i):  # Qwen2MoeDecoderLayer's and Qwen3MoeDecoderLayer's choice (every layer, in the other families)
        return i not in mlp_only and (i + 1) % sparse_step == 0
    state = {"model.embed_tokens.weight": nn.Embedding(V, H).weight.detach().clone() * 0.5}
    for i in range(c["num_hidden_layers"]):
        at = f"model.layers.{i}."
        random_norm(state, at + "input_layernorm", H, bias=False)
        if model_type == "qwen2_moe":
            random_split_attention(state, at + "self_attn.", heads, kv, d, H, "o_proj", bias=True, output_bias=False)
        else:
            random_split_attention(state, at + "self_attn.", heads, kv, d, H, "o_proj", bias=bias)
        if qk == "across":
            random_norm(state, at + "self_attn.q_norm", heads * d, bias=False)
            random_norm(state, at + "self_attn.k_norm", kv * d, bias=False)
        elif qk == "head":
            random_norm(state, at + "self_attn.q_norm", d, bias=False)
            random_norm(state, at + "self_attn.k_norm", d, bias=False)
        random_norm(state, at + "post_attention_layernorm", H, bias=False)
        if not sparse(i):  # Qwen2MoeMLP, Qwen3MoeMLP of intermediate_size
            for proj, rows, cols in (("gate_proj", c["intermediate_size"], H), ("up_proj", c["intermediate_size"], H), ("down_proj", H, c["intermediate_size"])):
                random_linear(state, at + "mlp." + proj, rows, cols, bias=False)
            continue
        state[at + prefix + "gate.weight"] = nn.Linear(H, E, bias=False).weight.detach().clone() * 4  # (a router that prefers)
        for e in range(E):
            random_linear(state, at + prefix + f"experts.{e}.{gate_name}", I, H, bias=False)
            random_linear(state, at + prefix + f"experts.{e}.{down_name}", H, I, bias=False)
            random_linear(state, at + prefix + f"experts.{e}.{up_name}", I, H, bias=False)
        if model_type == "qwen2_moe":
            S = c["shared_expert_intermediate_size"]
            random_linear(state, at + prefix + "shared_expert.gate_proj", S, H, bias=False)
            random_linear(state, at + prefix + "shared_expert.up_proj", S, H, bias=False)
            random_linear(state, at + prefix + "shared_expert.down_proj", H, S, bias=False)
            random_linear(state, at + prefix + "shared_expert_gate", 1, H, bias=False)
    random_norm(state, "model.norm", H, bias=False)
    if not tied:
        random_linear(state, "lm_head", V, H, bias=False)
    ids, lengths, blocked = padded_batch(V, T)
    if window:
        blocked = blocked | (torch.arange(T)[:, None] - torch.arange(T)[None, :] >= window)[None, None]
    rotated, _ = partial_rotation(T, d, theta)

    def linear(x, prefix_):
        return F.linear(x, state[prefix_ + ".weight"], state.get(prefix_ + ".bias"))

    def norm(x, prefix_):  # the families' RMSNorm
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * state[prefix_ + ".weight"]

    def sparse_moe(x, at):  # MixtralSparseMoeBlock, OlmoeSparseMoeBlock, Qwen3MoeSparseMoeBlock, Qwen2MoeSparseMoeBlock
        h = x.reshape(-1, H)
        probs = F.softmax(linear(h, at + prefix + "gate"), dim=1, dtype=torch.float)
        weights, chosen = torch.topk(probs, k, dim=-1)
        if model_type == "mixtral" or normalize:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        out = torch.zeros_like(h)
        for e in range(E):
            rows, slot = torch.where(chosen == e)
            if rows.numel() == 0:
                continue
            expert = at + prefix + f"experts.{e}."
            y = linear(F.silu(linear(h[rows], expert + gate_name)) * linear(h[rows], expert + up_name), expert + down_name)
            out.index_add_(0, rows, y * weights[rows, slot, None])
        if model_type == "qwen2_moe":
            shared = at + prefix + "shared_expert."
            y = linear(F.silu(linear(h, shared + "gate_proj")) * linear(h, shared + "up_proj"), shared + "down_proj")
            out = out + torch.sigmoid(linear(h, at + prefix + "shared_expert_gate")) * y
        return out.reshape(x.shape)
    with torch.no_grad():
        x = F.embedding(ids, state["model.embed_tokens.weight"])
        for i in range(c["num_hidden_layers"]):
            at = f"model.layers.{i}."
            h = norm(x, at + "input_layernorm")
            q, k_, v = linear(h, at + "self_attn.q_proj"), linear(h, at + "self_attn.k_proj"), linear(h, at + "self_attn.v_proj")
            if qk == "across":  # OLMoE: q_norm(q_proj(x)), k_norm(k_proj(x)) over the whole projections
                q, k_ = norm(q, at + "self_attn.q_norm"), norm(k_, at + "self_attn.k_norm")
            q, k_, v = q.view(2, T, heads, d), k_.view(2, T, kv, d), v.view(2, T, kv, d)
            if qk == "head":  # Qwen3-MoE: q_norm(q_proj(x).view(..., heads, d)) over each head's values
                q, k_ = norm(q, at + "self_attn.q_norm"), norm(k_, at + "self_attn.k_norm")
            q = rotated(q.transpose(1, 2))
            k_ = rotated(k_.transpose(1, 2)).repeat_interleave(heads // kv, dim=1)
            v = v.transpose(1, 2).repeat_interleave(heads // kv, dim=1)
            weights = ((q @ k_.transpose(-1, -2)) / math.sqrt(d)).masked_fill(blocked, torch.finfo(torch.float32).min).softmax(-1)
            x = x + linear((weights @ v).transpose(1, 2).reshape(2, T, heads * d), at + "self_attn.o_proj")
            h = norm(x, at + "post_attention_layernorm")
            x = x + (sparse_moe(h, at) if sparse(i) else linear(F.silu(linear(h, at + "mlp.gate_proj")) * linear(h, at + "mlp.up_proj"), at + "mlp.down_proj"))
        logits = F.linear(norm(x, "model.norm"), state["model.embed_tokens.weight" if tied else "lm_head.weight"])
    write_hf_fixture(name, c, state, ids, lengths, logits)


def make_hf_gpt_bigcode(name, multi_query, seed):
    """HfGptBigCode (multi_query: santacoder's, starcoder's, tiny_starcoder's one key/value head) and HfGptBigCodeMha (multi_query
    false): GPTBigCodeForCausalLM as save_pretrained writes it ("transformer." prefix, float32, lm_head tied to wte and left out),
    transformers' modeling_gpt_bigcode written out: wte, wpe; 2 blocks of 4 heads over a width of 24, each ln_1, attn.c_attn
    (nn.Linear, [out, in]: the queries' 24 rows then one key's and one value's 6 with multi_query; without, rows [heads, 3, d],
    each head's q, k and v together), the scores q k^T / sqrt(6), the causal and padding masks, attn.c_proj; ln_2, mlp.c_fc (n_inner
    40), gelu_pytorch_tanh, mlp.c_proj; ln_f, the tied head. Two sequences of 11 steps, the second padded after 7."""
    c = {"architectures": ["GPTBigCodeForCausalLM"], "model_type": "gpt_bigcode", "vocab_size": 21, "n_embd": 24, "n_head": 4, "n_layer": 2,
         "n_positions": 32, "n_inner": 40, "activation_function": "gelu_pytorch_tanh", "layer_norm_epsilon": 1e-05, "multi_query": multi_query,
         "scale_attn_weights": True, "attention_softmax_in_fp32": True, "scale_attention_softmax_in_fp32": True, "tie_word_embeddings": True,
         "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0, "bos_token_id": 0, "eos_token_id": 0, "torch_dtype": "float32"}
    torch.manual_seed(seed)
    H, heads, V, T, I = c["n_embd"], c["n_head"], c["vocab_size"], 11, c["n_inner"]
    d = H // heads
    kv = d if multi_query else H
    state = {"wte.weight": nn.Embedding(V, H).weight.detach().clone(), "wpe.weight": nn.Embedding(c["n_positions"], H).weight.detach().clone()}
    for i in range(c["n_layer"]):
        at = f"h.{i}."
        random_norm(state, at + "ln_1", H)
        random_linear(state, at + "attn.c_attn", H + 2 * kv, H)
        random_linear(state, at + "attn.c_proj", H, H)
        random_norm(state, at + "ln_2", H)
        random_linear(state, at + "mlp.c_fc", I, H)
        random_linear(state, at + "mlp.c_proj", H, I)
    random_norm(state, "ln_f", H)
    ids, lengths, blocked = padded_batch(V, T)

    def linear(x, prefix):
        return F.linear(x, state[prefix + ".weight"], state[prefix + ".bias"])

    def norm(x, prefix):
        return F.layer_norm(x, (H,), state[prefix + ".weight"], state[prefix + ".bias"], c["layer_norm_epsilon"])
    with torch.no_grad():
        x = F.embedding(ids, state["wte.weight"]) + state["wpe.weight"][:T]
        for i in range(c["n_layer"]):
            at = f"h.{i}."
            fused = linear(norm(x, at + "ln_1"), at + "attn.c_attn")
            if multi_query:  # query, key_value = c_attn(x).split((embed_dim, 2 * kv_dim)): one key and one value head for all
                q = fused[..., :H].view(2, T, heads, d).transpose(1, 2)
                k = fused[..., H:H + d][:, None]
                v = fused[..., H + d:][:, None]
            else:  # c_attn(x).view(B, T, heads, 3 * d): each head's q, k and v together
                qkv = fused.view(2, T, heads, 3 * d).transpose(1, 2)
                q, k, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
            weights = ((q @ k.transpose(-1, -2)) / math.sqrt(d)).masked_fill(blocked, torch.finfo(torch.float32).min).softmax(-1)
            x = x + linear((weights @ v).transpose(1, 2).reshape(2, T, H), at + "attn.c_proj")
            x = x + linear(F.gelu(linear(norm(x, at + "ln_2"), at + "mlp.c_fc"), approximate="tanh"), at + "mlp.c_proj")
        logits = norm(x, "ln_f") @ state["wte.weight"].T
    tensors = {"transformer." + n: t for n, t in state.items()}
    write_hf_fixture(name, c, tensors, ids, lengths, logits)


def make_hf_falcon(name, new_architecture, seed, norms=2, sequential=False, alibi=False):
    """HfFalcon (falcon-7b's layers: multi_query, parallel_attn, one input_layernorm) and HfFalconNew (new_decoder_architecture:
    falcon-40b's and -180b's, num_kv_heads grouped heads, ln_attn and ln_mlp): FalconForCausalLM as save_pretrained writes it
    ("transformer." prefix, float32, lm_head tied to word_embeddings and left out), transformers' modeling_falcon written out:
    word_embeddings; 2 layers of 4 heads of 8 values (1 key/value head; 2 in the new architecture), self_attention.query_key_value
    without a bias (rows [kv groups, heads / kv + 2, d]: each group's query heads, then its key and value), the rotation of whole
    heads (rotate_half, base rope_theta 3000), the scores q k^T / sqrt(8), the causal and padding masks, self_attention.dense;
    mlp.dense_h_to_4h (ffn_hidden_size 48), exact GELU, mlp.dense_4h_to_h; x + attn(ln(x)) + mlp(ln(x)) (ln_attn and ln_mlp in the
    new architecture; HfFalconOneNorm: the new architecture with num_ln_in_parallel_attn 1, falcon-11B's, one input_layernorm);
    ln_f, the tied head. HfFalconSequential: the old architecture without parallel_attn and multi_query, with bias (the layout
    falcon-rw's layers have, without its ALiBi): a key and value head per query head (query_key_value's rows [heads, 3, d]), every
    linear layer's bias, x = x + attn(input_layernorm(x)), then x + mlp(post_attention_layernorm(x)). HfFalconRw: those layers with
    falcon-rw's ALiBi instead of the rotation, build_alibi_tensor's m_h * j added to q k^T before the scale, (q k^T + alibi) / sqrt(d).
    Two sequences of 11 steps, the second padded after 7."""
    c = {"architectures": ["FalconForCausalLM"], "model_type": "falcon", "vocab_size": 25, "hidden_size": 32, "num_attention_heads": 4,
         "num_hidden_layers": 2, "num_kv_heads": 2 if new_architecture else None, "multi_query": True, "new_decoder_architecture": new_architecture,
         "parallel_attn": True, "bias": False, "alibi": False, "layer_norm_epsilon": 1e-05, "rope_theta": 3000.0, "rope_scaling": None,
         "ffn_hidden_size": 48, "activation": "gelu", "max_position_embeddings": 64, "hidden_dropout": 0.0, "attention_dropout": 0.0,
         "tie_word_embeddings": True, "bos_token_id": 11, "eos_token_id": 11, "torch_dtype": "float32"}
    if new_architecture:
        c["num_ln_in_parallel_attn"] = norms
    if sequential:
        c.update({"parallel_attn": False, "bias": True, "multi_query": False})
    if alibi:
        c.update({"alibi": True, "rope_theta": 10000.0})
    two = new_architecture and norms == 2
    bias = c["bias"]
    torch.manual_seed(seed)
    H, heads, V, T, I = c["hidden_size"], c["num_attention_heads"], c["vocab_size"], 11, c["ffn_hidden_size"]
    d = H // heads
    kv = c["num_kv_heads"] if new_architecture else 1 if c["multi_query"] else c["num_attention_heads"]
    per = heads // kv
    state = {"word_embeddings.weight": nn.Embedding(V, H).weight.detach().clone()}
    for i in range(c["num_hidden_layers"]):
        at = f"h.{i}."
        if two:
            random_norm(state, at + "ln_attn", H)
            random_norm(state, at + "ln_mlp", H)
        else:
            random_norm(state, at + "input_layernorm", H)
        if sequential:
            random_norm(state, at + "post_attention_layernorm", H)
        random_linear(state, at + "self_attention.query_key_value", (heads + 2 * kv) * d, H, bias=bias)
        random_linear(state, at + "self_attention.dense", H, H, bias=bias)
        random_linear(state, at + "mlp.dense_h_to_4h", I, H, bias=bias)
        random_linear(state, at + "mlp.dense_4h_to_h", H, I, bias=bias)
    random_norm(state, "ln_f", H)
    ids, lengths, blocked = padded_batch(V, T)
    rotated, _ = partial_rotation(T, d, c["rope_theta"])  # whole heads

    def norm(x, prefix):
        return F.layer_norm(x, (H,), state[prefix + ".weight"], state[prefix + ".bias"], c["layer_norm_epsilon"])

    def linear(x, prefix):
        return F.linear(x, state[prefix + ".weight"], state.get(prefix + ".bias"))
    with torch.no_grad():
        x = F.embedding(ids, state["word_embeddings.weight"])
        for i in range(c["num_hidden_layers"]):
            at = f"h.{i}."
            h_attn = norm(x, at + ("ln_attn" if two else "input_layernorm"))
            h_mlp = norm(x, at + "ln_mlp") if two else h_attn
            # _split_heads: [B, T, kv, per + 2, d], each group's queries then its key and value
            fused = linear(h_attn, at + "self_attention.query_key_value").view(2, T, kv, per + 2, d)
            q = fused[:, :, :, :-2].reshape(2, T, heads, d).transpose(1, 2)
            k = fused[:, :, :, -2].transpose(1, 2).repeat_interleave(per, dim=1)
            v = fused[:, :, :, -1].transpose(1, 2).repeat_interleave(per, dim=1)
            if alibi:  # FalconAttention with alibi: (q k^T + alibi) * inv_norm_factor
                mask = (torch.arange(T)[None, :] < lengths[:, None]).long()
                scores = (q @ k.transpose(-1, -2) + build_alibi_tensor(mask, heads, bfloat16=True)) * (1.0 / math.sqrt(d))
            else:
                q, k = rotated(q), rotated(k)
                scores = (q @ k.transpose(-1, -2)) / math.sqrt(d)
            weights = scores.masked_fill(blocked, torch.finfo(torch.float32).min).softmax(-1)
            attended = linear((weights @ v).transpose(1, 2).reshape(2, T, H), at + "self_attention.dense")
            if sequential:  # the attention's residual, post_attention_layernorm, then the feed-forward's residual
                x = attended + x
                h_mlp = norm(x, at + "post_attention_layernorm")
                attended = 0
            mlp = linear(F.gelu(linear(h_mlp, at + "mlp.dense_h_to_4h")), at + "mlp.dense_4h_to_h")
            x = (mlp + attended) + x
        logits = norm(x, "ln_f") @ state["word_embeddings.weight"].T
    tensors = {"transformer." + n: t for n, t in state.items()}
    write_hf_fixture(name, c, tensors, ids, lengths, logits)


class HfBertLayer(nn.Module):
    """transformers' BertLayer, written out: attention.self (query, key, value with biases, h heads scaled by 1/sqrt(d), the
    attention mask's padded keys at float32's minimum), attention.output (dense, LayerNorm of it plus the input), intermediate
    (dense, GELU), output (dense, LayerNorm of it plus the attention's output): post-norm."""

    def __init__(self, c):
        super().__init__()
        e, inner, eps = c["hidden_size"], c["intermediate_size"], c.get("layer_norm_eps", 1e-12)
        self.heads = c["num_attention_heads"]
        self.attention = nn.Module()
        self.attention.self = nn.Module()
        self.attention.self.query, self.attention.self.key, self.attention.self.value = nn.Linear(e, e), nn.Linear(e, e), nn.Linear(e, e)
        self.attention.output = nn.Module()
        self.attention.output.dense, self.attention.output.LayerNorm = nn.Linear(e, e), nn.LayerNorm(e, eps=eps)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(e, inner)
        self.output = nn.Module()
        self.output.dense, self.output.LayerNorm = nn.Linear(inner, e), nn.LayerNorm(e, eps=eps)
        with torch.no_grad():
            for norm in (self.attention.output.LayerNorm, self.output.LayerNorm):
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.uniform_(-0.2, 0.2)

    def forward(self, x, mask):
        B, T, E = x.shape
        h, d = self.heads, E // self.heads
        a = self.attention.self
        q, k, v = (layer(x).view(B, T, h, d).transpose(1, 2) for layer in (a.query, a.key, a.value))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, E)
        x = self.attention.output.LayerNorm(self.attention.output.dense(context) + x)
        return self.output.LayerNorm(self.output.dense(F.gelu(self.intermediate.dense(x))) + x)


def make_hf_jina_bert():
    """HfJinaBert: JinaBertModel as jina-embeddings-v2's checkpoints hold it (BertModel's names, no position table; float32),
    its modeling_bert written out: word_embeddings plus token type 0's row, LayerNorm; 2 layers of 4 heads over a width of 16,
    each BERT's self-attention (query, key, value with biases, scaled by 1/sqrt(d)) plus ALiBi's symmetric bias -m_h |j - i| (the
    paper's slopes, _get_alibi_head_slopes) and the padded keys at float32's minimum, attention.output (dense, LayerNorm of it
    plus the input), then the GLU MLP (gated_layers without a bias, 2 * 24 rows: GELU of the first 24 times the last 24; wo;
    layernorm of it plus its input). Two sequences of 20 steps (past the slopes' reach), the second padded after 9."""
    c = {"architectures": ["JinaBertModel"], "model_type": "bert", "vocab_size": 29, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 24, "hidden_act": "gelu", "feed_forward_type": "geglu", "position_embedding_type": "alibi", "max_position_embeddings": 8192,
         "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.0, "pad_token_id": 0, "emb_pooler": "mean"}
    torch.manual_seed(751)
    H, heads, inner, V, T = c["hidden_size"], c["num_attention_heads"], c["intermediate_size"], c["vocab_size"], 20
    d = H // heads
    state = {"embeddings.word_embeddings.weight": nn.Embedding(V, H).weight.detach().clone(),
             "embeddings.token_type_embeddings.weight": nn.Embedding(2, H).weight.detach().clone()}

    def norm(prefix):
        random_norm(state, prefix, H)

    def linear(prefix, rows, cols, bias=True):
        random_linear(state, prefix, rows, cols, bias)
    norm("embeddings.LayerNorm")
    for i in range(c["num_hidden_layers"]):
        at = f"encoder.layer.{i}."
        for part in ("query", "key", "value"):
            linear(at + "attention.self." + part, H, H)
        linear(at + "attention.output.dense", H, H)
        norm(at + "attention.output.LayerNorm")
        linear(at + "mlp.gated_layers", 2 * inner, H, bias=False)
        linear(at + "mlp.wo", H, inner)
        norm(at + "mlp.layernorm")
    ids = torch.randint(2, V, (2, T))
    lengths = torch.tensor([T, 9])
    ids[1, 9:] = c["pad_token_id"]
    mask = torch.arange(T)[None, :] < lengths[:, None]
    relative = (torch.arange(T)[None, :] - torch.arange(T)[:, None]).abs()
    bias = torch.tensor(alibi_slopes(heads))[:, None, None].float() * -relative  # JinaBertModel's alibi [heads, T, T]
    bias = bias[None] + (~mask)[:, None, None, :].float() * torch.finfo(torch.float32).min

    def layer_norm(x, prefix):
        return F.layer_norm(x, (H,), state[prefix + ".weight"], state[prefix + ".bias"], c["layer_norm_eps"])

    def dense(x, prefix):
        y = x @ state[prefix + ".weight"].T
        return y + state[prefix + ".bias"] if prefix + ".bias" in state else y
    with torch.no_grad():
        x = layer_norm(F.embedding(ids, state["embeddings.word_embeddings.weight"]) + state["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        for i in range(c["num_hidden_layers"]):
            at = f"encoder.layer.{i}."
            q, k, v = (dense(x, at + "attention.self." + p).view(2, T, heads, d).transpose(1, 2) for p in ("query", "key", "value"))
            scores = q @ k.transpose(-1, -2) / math.sqrt(d) + bias
            context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(2, T, H)
            x = layer_norm(dense(context, at + "attention.output.dense") + x, at + "attention.output.LayerNorm")
            h = dense(x, at + "mlp.gated_layers")
            h = F.gelu(h[..., :inner]) * h[..., inner:]  # geglu: GELU on the first half, times the second
            x = layer_norm(dense(h, at + "mlp.wo") + x, at + "mlp.layernorm")
    pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1)[:, None]
    write_encoder_case("HfJinaBert", c, state, {"ids": ids, "lengths": lengths, "hidden": x, "pooled": pooled})


def make_hf_bert(roberta=False, distil=False, electra=False, classifier=False, token=False, pair=False, qa=False):
    """HfBert: BertModel as sentence-transformers' checkpoints hold it (all-MiniLM-L6-v2's names, no "bert." prefix, float32, the
    pooler kept and the embeddings' position_ids buffer beside them), 2 layers of 4 heads over a width of 16, 32 positions, two
    token types: the last hidden state of two sequences, the second padded after 4 tokens (attention_mask), token types all 0.
    HfRoberta (roberta=True): RobertaForMaskedLM's checkpoint (the "roberta." prefix, its lm_head beside it, one token type, ε 1e-5),
    whose positions start after the padding id (create_position_ids_from_input_ids: 2 … 8 for the first text, 2 … 5 then the
    padding id 1 for the second). HfElectra (electra=True): ElectraForSequenceClassification's checkpoint (the "electra." prefix,
    embeddings 8 wide projected to the layers' 16 by embeddings_project, its classifier beside them). HfDistilBert (distil=True): DistilBertForSequenceClassification's checkpoint (the
    "distilbert." prefix, DistilBERT's names, no token types, its pre_classifier and classifier beside them), the same layers.
    HfBertClassifier (classifier=True): BertForSequenceClassification's checkpoint of HfBert's encoder and pooler (the "bert."
    prefix) with a classifier of three labels; HfRobertaClassifier (roberta=True, classifier=True): XLMRobertaForSequenceClassification's
    (a reranker's layout: HfRoberta's encoder, no pooler, classifier.dense and out_proj of two labels); HfBertTokenClassifier
    (token=True): BertForTokenClassification's (HfBert's encoder under "bert.", no pooler, a classifier of five labels on every
    token: a named-entity tagger's layout), its logits classifier(h). HfBertCrossEncoder (pair=True): BertForSequenceClassification's
    checkpoint of one label (a cross-encoder's, ms-marco-MiniLM's layout: a query and a passage scored together) over two pairs,
    [CLS] A [SEP] B [SEP], with the token_type_ids BERT's tokenizers give them (0 up to the first [SEP], 1 after it; the padding 0),
    written out here by position, not counted from the ids. HfBertQuestionAnswering (qa=True): BertForQuestionAnswering's (an
    extractive answerer's: HfBertCrossEncoder's inputs as a question and its context, the encoder under "bert.", no pooler,
    qa_outputs on every token), its logits qa_outputs(h), each token's start and end. The expected outputs hold each head's too: BERT's pooler_output, tanh(pooler(h[:, 0])),
    and the classifiers' logits: BERT's classifier(pooler_output), RoBERTa's out_proj(tanh(dense(h[:, 0]))), DistilBERT's classifier(relu(pre_classifier(h[:, 0]))),
    ELECTRA's out_proj(gelu(dense(h[:, 0])))."""
    c = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 24, "hidden_act": "gelu", "max_position_embeddings": 32, "type_vocab_size": 2, "vocab_size": 13,
         "layer_norm_eps": 1e-12, "position_embedding_type": "absolute", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
         "pad_token_id": 0, "torch_dtype": "float32"}
    if roberta:
        c.update(architectures=["RobertaForMaskedLM"], model_type="roberta", type_vocab_size=1, layer_norm_eps=1e-05, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    if distil:
        c = {"architectures": ["DistilBertForSequenceClassification"], "model_type": "distilbert", "dim": 16, "n_layers": 2, "n_heads": 4,
             "hidden_dim": 24, "activation": "gelu", "max_position_embeddings": 32, "vocab_size": 13, "sinusoidal_pos_embds": False,
             "dropout": 0.1, "attention_dropout": 0.1, "pad_token_id": 0, "torch_dtype": "float32"}
        c.update(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=24, type_vocab_size=1, layer_norm_eps=1e-12)
    if electra:
        c.update(architectures=["ElectraForSequenceClassification"], model_type="electra", embedding_size=8)
        del c["position_embedding_type"]
    pair = pair or qa
    torch.manual_seed(721 if qa else 720 if pair else 719 if electra else 717 if distil else 716 if roberta else 715)
    e = c.get("embedding_size", c["hidden_size"])  # (ELECTRA's embeddings are narrower, projected to hidden_size)
    words, positions, types = nn.Embedding(c["vocab_size"], e), nn.Embedding(c["max_position_embeddings"], e), nn.Embedding(c["type_vocab_size"], e)
    norm = nn.LayerNorm(e, eps=c["layer_norm_eps"])
    project = nn.Linear(e, c["hidden_size"]) if electra else None
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.2, 0.2)
    layers = [HfBertLayer(c) for _ in range(c["num_hidden_layers"])]
    pooler = nn.Linear(c["hidden_size"], c["hidden_size"])
    pad = c["pad_token_id"]
    ids = torch.randint(2 if roberta else 1, c["vocab_size"], (2, 7))  # (RoBERTa: no ids 0 and 1, its BOS and padding)
    lengths = torch.tensor([7, 4])
    ids[1, 4:] = pad  # the padding token
    token_types = torch.zeros_like(ids)
    if pair:  # [CLS]=1 A [SEP]=2 B [SEP]=2, the second pair padded after 5 tokens; the types by position, as the tokenizer's pair template writes them
        ids = torch.tensor([[1, 5, 7, 2, 9, 4, 2], [1, 8, 2, 6, 2, 0, 0]])
        token_types = torch.tensor([[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0]])
        lengths = torch.tensor([7, 5])
    mask = (torch.arange(7)[None, :] < lengths[:, None]).float()
    # BERT's positions 0 … T - 1; RoBERTa's from the padding id + 1, the padding's own the padding id
    position_ids = torch.arange(ids.shape[1])[None, :].expand(2, -1) if not roberta else (torch.cumsum((ids != pad).int(), 1) * (ids != pad).int()).long() + pad
    with torch.no_grad():
        # BertEmbeddings: the words plus the token types (all 0), then the positions, then LayerNorm
        x = words(ids) + (0 if distil else types(token_types))
        x = norm(x + positions(position_ids))
        if project is not None:  # ElectraModel's embeddings_project
            x = project(x)
        for layer in layers:
            x = layer(x, mask)
    state = {"embeddings.word_embeddings.weight": words.weight, "embeddings.position_embeddings.weight": positions.weight,
             "embeddings.token_type_embeddings.weight": types.weight, "embeddings.LayerNorm.weight": norm.weight, "embeddings.LayerNorm.bias": norm.bias,
             "embeddings.position_ids": torch.arange(c["max_position_embeddings"])[None, :],
             "pooler.dense.weight": pooler.weight, "pooler.dense.bias": pooler.bias}
    for i, layer in enumerate(layers):
        for name, t in layer.state_dict().items():
            state[f"encoder.layer.{i}.{name}"] = t
    case = ("HfElectra" if electra else "HfDistilBert" if distil else "HfRobertaClassifier" if roberta and classifier else "HfRoberta" if roberta
            else "HfBertQuestionAnswering" if qa else "HfBertCrossEncoder" if pair else "HfBertClassifier" if classifier else "HfBertTokenClassifier" if token else "HfBert")
    heads = {}
    with torch.no_grad():
        first = x[:, 0]
        if not (roberta or distil or electra):
            heads["pooler_output"] = torch.tanh(pooler(first))
        if classifier and roberta:  # RobertaClassificationHead: dense, tanh, out_proj on the first token (no pooler)
            dense, out_proj = nn.Linear(c["hidden_size"], c["hidden_size"]), nn.Linear(c["hidden_size"], 2)
            heads["logits"] = out_proj(torch.tanh(dense(first)))
            roberta_head = {"classifier.dense.weight": dense.weight, "classifier.dense.bias": dense.bias,
                            "classifier.out_proj.weight": out_proj.weight, "classifier.out_proj.bias": out_proj.bias}
            c.update(architectures=["XLMRobertaForSequenceClassification"], model_type="xlm-roberta")
        elif qa:  # BertForQuestionAnswering: qa_outputs on every token's state (its start and end logits), no pooler
            answers = nn.Linear(c["hidden_size"], 2)
            heads["logits"] = answers(x)
            state = {"bert." + k: v for k, v in state.items() if not k.startswith("pooler.")}
            state.update({"qa_outputs.weight": answers.weight, "qa_outputs.bias": answers.bias})
            c.update(architectures=["BertForQuestionAnswering"])
        elif token:  # BertForTokenClassification: a classifier on every token's state, no pooler
            tags = nn.Linear(c["hidden_size"], 5)
            heads["logits"] = tags(x)
            state = {"bert." + k: v for k, v in state.items() if not k.startswith("pooler.")}
            state.update({"classifier.weight": tags.weight, "classifier.bias": tags.bias})
            names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
            c.update(architectures=["BertForTokenClassification"], id2label={str(i): n for i, n in enumerate(names)}, label2id={n: i for i, n in enumerate(names)})
        elif classifier or pair:  # (drawn after everything above: HfBert's tensors are the same)
            labels = nn.Linear(c["hidden_size"], 1 if pair else 3)
            heads["logits"] = labels(heads["pooler_output"])
            state = {"bert." + k: v for k, v in state.items()}
            state.update({"classifier.weight": labels.weight, "classifier.bias": labels.bias})
            c.update(architectures=["BertForSequenceClassification"], id2label={"0": "negative", "1": "neutral", "2": "positive"},
                     label2id={"negative": 0, "neutral": 1, "positive": 2})
            if pair:  # (a cross-encoder's one label, as transformers names it)
                c.update(id2label={"0": "LABEL_0"}, label2id={"LABEL_0": 0})
        if distil:
            heads["logits"] = F.linear(F.relu(pooler(first)), pooler.weight[:2], pooler.bias[:2])
        if electra:
            heads["logits"] = F.linear(F.gelu(pooler(first)), pooler.weight[:2], pooler.bias[:2])
    if electra:  # ElectraForSequenceClassification: the encoder under electra., its projection, no pooler, the classifier beside them
        state = {"electra." + k: v for k, v in state.items() if not k.startswith("pooler.")}
        state.update({"electra.embeddings_project.weight": project.weight, "electra.embeddings_project.bias": project.bias,
                      "classifier.dense.weight": pooler.weight, "classifier.dense.bias": pooler.bias,
                      "classifier.out_proj.weight": pooler.weight[:2], "classifier.out_proj.bias": pooler.bias[:2]})
    if distil:  # DistilBERT's names under distilbert., no token types, its classifier heads beside them
        names = {"attention.self.query": "attention.q_lin", "attention.self.key": "attention.k_lin", "attention.self.value": "attention.v_lin",
                 "attention.output.dense": "attention.out_lin", "attention.output.LayerNorm": "sa_layer_norm", "intermediate.dense": "ffn.lin1",
                 "output.dense": "ffn.lin2", "output.LayerNorm": "output_layer_norm"}

        def renamed(k):
            k = k.replace("encoder.layer.", "transformer.layer.")
            for a, b in names.items():
                k = k.replace(a, b)
            return "distilbert." + k
        state = {renamed(k): v for k, v in state.items() if not k.startswith("pooler.") and k != "embeddings.token_type_embeddings.weight"}
        state.update({"pre_classifier.weight": pooler.weight, "pre_classifier.bias": pooler.bias, "classifier.weight": pooler.weight[:2], "classifier.bias": pooler.bias[:2]})
        for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "type_vocab_size", "layer_norm_eps"):
            del c[key]
    if roberta:  # RobertaForMaskedLM: the encoder under roberta., no pooler, the masked-LM head beside it
        state = {"roberta." + k: v for k, v in state.items() if not k.startswith("pooler.")}
        if classifier:  # XLMRobertaForSequenceClassification (a reranker's layout: bge-reranker): its classifier beside the encoder
            state.update(roberta_head)
        else:
            state.update({"lm_head.dense.weight": pooler.weight, "lm_head.dense.bias": pooler.bias, "lm_head.bias": torch.zeros(c["vocab_size"])})
    os.makedirs(os.path.join(HERE, case), exist_ok=True)
    with open(os.path.join(HERE, case, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    save_safetensors(os.path.join(HERE, case, "model.safetensors"), state)
    # sentence-transformers' mean pooling over the attention mask, then its Normalize module
    pooled = F.normalize((x * mask[:, :, None]).sum(1) / torch.clamp(mask.sum(1)[:, None], min=1e-9), p=2, dim=1)
    save_safetensors(os.path.join(HERE, case + ".expected.safetensors"), {"ids": ids, "lengths": lengths, "hidden": x, "pooled": pooled, **heads,
                                                                      **({"token_types": token_types} if pair else {})})
    print(f"{case}: {len(state)} tensors, hidden {list(x.shape)}")


def write_encoder_case(case, config, tensors, expected):
    """An encoder checkpoint's folder (config.json, model.safetensors) and its <case>.expected.safetensors (ids, lengths, the last
    hidden state, its mean, and any head's outputs)."""
    os.makedirs(os.path.join(HERE, case), exist_ok=True)
    with open(os.path.join(HERE, case, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    save_safetensors(os.path.join(HERE, case, "model.safetensors"), tensors)
    save_safetensors(os.path.join(HERE, case + ".expected.safetensors"), expected)
    print(f"{case}: {len(tensors)} tensors, hidden {list(expected['hidden'].shape)}")


def make_hf_berts():
    """Every BERT-family checkpoint: BERT's, RoBERTa's, DistilBERT's, ELECTRA's, and the classifiers' and the tagger's."""
    for options in ({}, {"roberta": True}, {"distil": True}, {"electra": True}, {"classifier": True}, {"roberta": True, "classifier": True}, {"token": True}, {"pair": True}, {"qa": True}):
        make_hf_bert(**options)
    make_hf_bert_masked_lm()
    make_hf_bert_masked_lm(roberta=True)


def make_hf_bert_masked_lm(roberta=False):
    """HfBertMaskedLM: BertForMaskedLM's checkpoint of HfBert's encoder (under "bert.", no pooler) with its head, BertLMPredictionHead
    written out: cls.predictions.transform (dense, GELU, LayerNorm at layer_norm_eps), then the decoder, the token table tied, plus
    cls.predictions.bias (the checkpoint keeping the decoder's copies of both, as older saves do); its logits on every token.
    HfRobertaMaskedLM (roberta=True): RobertaForMaskedLM's of HfRoberta's encoder, RobertaLMHead written out (lm_head.dense, GELU,
    lm_head.layer_norm, the tied decoder plus lm_head.bias)."""
    source = "HfRoberta" if roberta else "HfBert"
    hidden = read_safetensors(os.path.join(HERE, source + ".expected.safetensors"))["hidden"]
    state = read_safetensors(os.path.join(HERE, source, "model.safetensors"))
    if roberta:  # (its encoder under roberta., the fixture's stand-in head left out)
        state = {k[len("roberta."):]: v for k, v in state.items() if k.startswith("roberta.")}
    with open(os.path.join(HERE, source, "config.json")) as f:
        c = json.load(f)
    torch.manual_seed(731 if roberta else 730)
    H, V = c["hidden_size"], c["vocab_size"]
    dense, norm = nn.Linear(H, H), nn.LayerNorm(H, eps=c["layer_norm_eps"])
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.2, 0.2)
        bias = torch.empty(V).uniform_(-0.5, 0.5)
        words = state["embeddings.word_embeddings.weight"]
        logits = norm(F.gelu(dense(hidden))) @ words.T + bias
    prefix, (d, n, b, dec) = ("roberta.", ("lm_head.dense", "lm_head.layer_norm", "lm_head.bias", "lm_head.decoder")) if roberta else \
        ("bert.", ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.bias", "cls.predictions.decoder"))
    tensors = {prefix + k: v for k, v in state.items() if not k.startswith("pooler.")}
    tensors.update({d + ".weight": dense.weight.detach(), d + ".bias": dense.bias.detach(), n + ".weight": norm.weight.detach(), n + ".bias": norm.bias.detach(),
                    b: bias, dec + ".weight": words.clone(), dec + ".bias": bias.clone()})
    expected = read_safetensors(os.path.join(HERE, source + ".expected.safetensors"))
    write_encoder_case(source + "MaskedLM", {**c, "architectures": ["RobertaForMaskedLM" if roberta else "BertForMaskedLM"]}, tensors,
                       {"ids": expected["ids"], "lengths": expected["lengths"], "hidden": hidden, "pooled": expected["pooled"], "logits": logits})


def make_hf_modernbert():
    """HfModernBert: ModernBertModel's checkpoint as sentence-transformers' ModernBERT models hold it (no "model." prefix,
    float32), transformers' modeling_modernbert written out: the token table, then LayerNorm without a bias (norm_bias false);
    4 pre-norm layers (the first without attn_norm), each Wqkv without a bias into 4 heads 4 wide turned by rotary positions,
    Wo; the global layers (0 and 3: global_attn_every_n_layers 3) over every key with rope theta 160000, the local ones (1 and 2)
    over the keys |j − i| <= local_attention / 2 = 2 with theta 10000; the feed-forward Wi into input and gate,
    Wo(gelu(input) * gate); final_norm. Two sequences of 11 steps, the second padded after 6 (attention_mask); the last
    hidden state, and its mean over the valid steps (modernbert-embed's pooling). The same encoder under "model." with the task
    models' heads, drawn after it: HfModernBertClassifier (ModernBertForSequenceClassification, classifier_pooling "mean": the
    mean of the valid steps through head.dense (no bias), GELU, head.norm, then the classifier of 3 labels) and
    HfModernBertMaskedLM (ModernBertForMaskedLM: every step through the same head, then the decoder tied to the token table,
    with its bias), and their logits."""
    c = {"architectures": ["ModernBertModel"], "model_type": "modernbert", "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 4,
         "num_attention_heads": 4, "vocab_size": 13, "max_position_embeddings": 64, "norm_eps": 1e-05, "norm_bias": False, "attention_bias": False,
         "mlp_bias": False, "global_rope_theta": 160000.0, "local_rope_theta": 10000.0, "local_attention": 4, "global_attn_every_n_layers": 3,
         "hidden_activation": "gelu", "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "cls_token_id": 1, "sep_token_id": 2,
         "classifier_pooling": "mean", "embedding_dropout": 0.0, "attention_dropout": 0.0, "mlp_dropout": 0.0, "torch_dtype": "float32"}
    torch.manual_seed(722)
    H, inner, heads, layers, T = c["hidden_size"], c["intermediate_size"], c["num_attention_heads"], c["num_hidden_layers"], 11
    d = H // heads

    def norm_weight():
        return torch.empty(H).uniform_(0.5, 1.5)

    def weight(rows, cols):
        return nn.Linear(cols, rows, bias=False).weight.detach().clone()

    state = {"embeddings.tok_embeddings.weight": nn.Embedding(c["vocab_size"], H).weight.detach().clone(), "embeddings.norm.weight": norm_weight()}
    for i in range(layers):
        if i > 0:
            state[f"layers.{i}.attn_norm.weight"] = norm_weight()
        state[f"layers.{i}.attn.Wqkv.weight"] = weight(3 * H, H)
        state[f"layers.{i}.attn.Wo.weight"] = weight(H, H)
        state[f"layers.{i}.mlp_norm.weight"] = norm_weight()
        state[f"layers.{i}.mlp.Wi.weight"] = weight(2 * inner, H)
        state[f"layers.{i}.mlp.Wo.weight"] = weight(H, inner)
    state["final_norm.weight"] = norm_weight()
    ids = torch.randint(3, c["vocab_size"], (2, T))
    lengths = torch.tensor([T, 6])
    ids[1, 6:] = c["pad_token_id"]
    mask = torch.arange(T)[None, :] < lengths[:, None]

    def norm(x, w):  # nn.LayerNorm(bias=False)
        return F.layer_norm(x, (H,), w, None, c["norm_eps"])

    def rotary(x, theta):  # ModernBertRotaryEmbedding and apply_rotary_pos_emb: LLaMA's, over positions 0 … T − 1
        inv = 1.0 / (theta ** (torch.arange(0, d, 2).float() / d))
        angles = torch.arange(T).float()[:, None] * inv[None, :]
        cos, sin = torch.cat([angles, angles], -1).cos(), torch.cat([angles, angles], -1).sin()
        half = torch.cat([-x[..., d // 2:], x[..., :d // 2]], -1)
        return x * cos + half * sin

    rows = torch.arange(T)[None, :]
    near = (rows - rows.T).abs() <= c["local_attention"] // 2  # ModernBertModel's sliding_window_mask
    with torch.no_grad():
        x = norm(F.embedding(ids, state["embeddings.tok_embeddings.weight"]), state["embeddings.norm.weight"])
        for i in range(layers):
            local = i % c["global_attn_every_n_layers"] != 0
            y = x if i == 0 else norm(x, state[f"layers.{i}.attn_norm.weight"])
            qkv = (y @ state[f"layers.{i}.attn.Wqkv.weight"].T).view(2, T, 3, heads, d)
            q, k, v = qkv.transpose(3, 1).unbind(dim=2)  # [B, heads, T, d]
            theta = c["local_rope_theta"] if local else c["global_rope_theta"]
            q, k = rotary(q, theta), rotary(k, theta)
            allowed = mask[:, None, None, :] & (near if local else torch.ones(T, T, dtype=torch.bool))[None, None]
            scores = (q @ k.transpose(-1, -2) / math.sqrt(d)).masked_fill(~allowed, torch.finfo(torch.float32).min)
            x = x + (scores.softmax(-1) @ v).transpose(1, 2).reshape(2, T, H) @ state[f"layers.{i}.attn.Wo.weight"].T
            inputs, gate = (norm(x, state[f"layers.{i}.mlp_norm.weight"]) @ state[f"layers.{i}.mlp.Wi.weight"].T).chunk(2, dim=-1)
            x = x + (F.gelu(inputs) * gate) @ state[f"layers.{i}.mlp.Wo.weight"].T
        x = norm(x, state["final_norm.weight"])
    pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1)[:, None]

    def write(case, config, tensors, outputs):
        write_encoder_case(case, config, tensors, {"ids": ids, "lengths": lengths, "hidden": x, "pooled": pooled, **outputs})

    write("HfModernBert", c, state, {})
    # ModernBertPredictionHead: norm(act(dense(h))), dense without a bias (classifier_bias false), norm without one (norm_bias)
    head = {"head.dense.weight": weight(H, H), "head.norm.weight": norm_weight()}
    encoder = {"model." + k: v for k, v in state.items()}

    def predict(h):
        return norm(F.gelu(h @ head["head.dense.weight"].T), head["head.norm.weight"])
    labels = nn.Linear(H, 3)
    classifier = {**encoder, **head, "classifier.weight": labels.weight.detach().clone(), "classifier.bias": labels.bias.detach().clone()}
    with torch.no_grad():
        logits = labels(predict(pooled))
    write("HfModernBertClassifier", {**c, "architectures": ["ModernBertForSequenceClassification"], "classifier_activation": "gelu", "classifier_bias": False,
                                     "id2label": {"0": "negative", "1": "neutral", "2": "positive"}, "label2id": {"negative": 0, "neutral": 1, "positive": 2}},
          classifier, {"logits": logits})
    decoder_bias = torch.empty(c["vocab_size"]).uniform_(-0.5, 0.5)
    with torch.no_grad():
        logits = predict(x) @ state["embeddings.tok_embeddings.weight"].T + decoder_bias
    write("HfModernBertMaskedLM", {**c, "architectures": ["ModernBertForMaskedLM"], "classifier_activation": "gelu", "decoder_bias": True, "tie_word_embeddings": True},
          {**encoder, **head, "decoder.bias": decoder_bias}, {"logits": logits})


def make_hf_mpnet():
    """HfMpnet: MPNetModel's checkpoint as sentence-transformers' all-mpnet-base-v2 holds it (no "mpnet." prefix, float32),
    transformers' modeling_mpnet written out: the words plus the positions of create_position_ids_from_input_ids (counted from
    padding_idx 1 + 1 over the tokens that are not padding), LayerNorm; 2 post-norm layers, each attn.q, k and v into 4 heads 4
    wide, the scores over sqrt(d) plus the encoder's one relative_attention_bias table [32, heads] read by the bucket of each
    distance (relative_position_bucket: 32 buckets up to 128) and the padded keys at float32's minimum, attn.o, LayerNorm;
    intermediate.dense (GELU), output.dense, LayerNorm. Two sequences of 24 steps, the second padded after 13; the last hidden
    state and its mean over the valid steps (all-mpnet-base-v2's pooling). The same encoder under "mpnet." with
    MPNetForSequenceClassification's head, drawn after it (HfMpnetClassifier: the first token through classifier.dense, tanh,
    classifier.out_proj to 3 labels) and its logits."""
    c = {"architectures": ["MPNetModel"], "model_type": "mpnet", "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2,
         "num_attention_heads": 4, "vocab_size": 13, "max_position_embeddings": 32, "layer_norm_eps": 1e-05, "hidden_act": "gelu",
         "relative_attention_num_buckets": 32, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "hidden_dropout_prob": 0.1,
         "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02, "torch_dtype": "float32"}
    torch.manual_seed(725)
    H, inner, heads, layers, T = c["hidden_size"], c["intermediate_size"], c["num_attention_heads"], c["num_hidden_layers"], 24
    d, pad = H // heads, 1

    def linear(prefix, rows, cols):
        module = nn.Linear(cols, rows)
        with torch.no_grad():
            module.bias.uniform_(-0.2, 0.2)
        return {prefix + ".weight": module.weight.detach().clone(), prefix + ".bias": module.bias.detach().clone()}

    def ln(prefix):
        return {prefix + ".weight": torch.empty(H).uniform_(0.5, 1.5), prefix + ".bias": torch.empty(H).uniform_(-0.2, 0.2)}
    state = {"embeddings.word_embeddings.weight": nn.Embedding(c["vocab_size"], H).weight.detach().clone(),
             "embeddings.position_embeddings.weight": nn.Embedding(c["max_position_embeddings"], H).weight.detach().clone(), **ln("embeddings.LayerNorm"),
             "encoder.relative_attention_bias.weight": nn.Embedding(c["relative_attention_num_buckets"], heads).weight.detach().clone()}
    for i in range(layers):
        at = f"encoder.layer.{i}."
        for part in ("q", "k", "v", "o"):
            state.update(linear(at + "attention.attn." + part, H, H))
        state.update(ln(at + "attention.LayerNorm"))
        state.update(linear(at + "intermediate.dense", inner, H))
        state.update(linear(at + "output.dense", H, inner))
        state.update(ln(at + "output.LayerNorm"))
    ids = torch.randint(3, c["vocab_size"], (2, T))
    ids[:, 0] = c["bos_token_id"]
    lengths = torch.tensor([T, 13])
    ids[1, 13:] = pad
    mask = torch.arange(T)[None, :] < lengths[:, None]

    def dense(x, prefix):
        return x @ state[prefix + ".weight"].T + state[prefix + ".bias"]

    def norm(x, prefix):
        return F.layer_norm(x, (H,), state[prefix + ".weight"], state[prefix + ".bias"], c["layer_norm_eps"])
    with torch.no_grad():
        real = (ids != pad).long()
        positions = torch.cumsum(real, dim=1) * real + pad  # create_position_ids_from_input_ids
        x = norm(F.embedding(ids, state["embeddings.word_embeddings.weight"]) + F.embedding(positions, state["embeddings.position_embeddings.weight"]), "embeddings.LayerNorm")
        relative = torch.arange(T)[None, :] - torch.arange(T)[:, None]  # compute_position_bias: memory − context positions
        bias = F.embedding(relative_position_bucket(relative, num_buckets=32), state["encoder.relative_attention_bias.weight"]).permute(2, 0, 1)[None]
        extended = (~mask)[:, None, None, :].float() * torch.finfo(torch.float32).min
        for i in range(layers):
            at = f"encoder.layer.{i}."
            q, k, v = (dense(x, at + "attention.attn." + p).view(2, T, heads, d).transpose(1, 2) for p in ("q", "k", "v"))
            scores = q @ k.transpose(-1, -2) / math.sqrt(d) + bias + extended
            context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(2, T, H)
            x = norm(dense(context, at + "attention.attn.o") + x, at + "attention.LayerNorm")
            x = norm(dense(F.gelu(dense(x, at + "intermediate.dense")), at + "output.dense") + x, at + "output.LayerNorm")
    pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1)[:, None]

    def write(case, config, tensors, outputs):
        write_encoder_case(case, config, tensors, {"ids": ids, "lengths": lengths, "hidden": x, "pooled": pooled, **outputs})

    write("HfMpnet", c, state, {})
    head = {**linear("classifier.dense", H, H), **linear("classifier.out_proj", 3, H)}
    with torch.no_grad():  # MPNetClassificationHead: the first token, dense, tanh, out_proj
        first = torch.tanh(x[:, 0] @ head["classifier.dense.weight"].T + head["classifier.dense.bias"])
        logits = first @ head["classifier.out_proj.weight"].T + head["classifier.out_proj.bias"]
    write("HfMpnetClassifier", {**c, "architectures": ["MPNetForSequenceClassification"], "id2label": {"0": "negative", "1": "neutral", "2": "positive"},
                                "label2id": {"negative": 0, "neutral": 1, "positive": 2}},
          {**{"mpnet." + k: v for k, v in state.items()}, **head}, {"logits": logits})


def t5_norm(x, w, c):
    """T5LayerNorm: the mean of squares in float32, no mean taken off, no bias."""
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + c["layer_norm_epsilon"]))


def t5_attention(y, state, at, c, bias, memory=None):
    """T5Attention written out: q from y, k and v from y (self) or the encoder's output (memory; EncDecAttention), each without a
    bias into num_heads heads d_kv wide, the scores unscaled plus bias (the position bias and the masks), o."""
    B, T, _ = y.shape
    kv = y if memory is None else memory
    S, heads, dkv = kv.shape[1], c["num_heads"], c["d_kv"]
    q = (y @ state[at + "q.weight"].T).view(B, T, heads, dkv).transpose(1, 2)
    k, v = ((kv @ state[at + f"{p}.weight"].T).view(B, S, heads, dkv).transpose(1, 2) for p in ("k", "v"))
    scores = q @ k.transpose(3, 2) + bias  # T5 scales no score
    return (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, heads * dkv) @ state[at + "o.weight"].T


def t5_feed_forward(y, state, at, c):
    """T5LayerFF's DenseReluDense: wo(gelu_new(wi_0 y) * wi_1 y) gated (gelu_new: GELU's tanh form), wo(relu(wi y)) not."""
    if c["feed_forward_proj"] == "gated-gelu":
        h = F.gelu(y @ state[at + "wi_0.weight"].T, approximate="tanh") * (y @ state[at + "wi_1.weight"].T)
    else:
        h = F.relu(y @ state[at + "wi.weight"].T)
    return h @ state[at + "wo.weight"].T


def t5_stack(state, c, part, x, mask, umt5=False, memory=None, memory_mask=None):
    """T5Stack written out over the embedded x [B, T, d_model]: the encoder ("encoder": self-attention over the valid steps, its
    relative buckets on both sides) or the decoder ("decoder": causal self-attention, one-sided buckets, then EncDecAttention over
    the memory's valid steps), each block's first relative_attention_bias (UMT5: its own), then final_layer_norm."""
    decoder = part == "decoder"
    T = x.shape[1]
    relative = torch.arange(T)[None, :] - torch.arange(T)[:, None]  # memory − context positions
    # T5Attention._relative_position_bucket: bidirectional in the encoder (MPNet's formula), one-sided in the decoder
    buckets = relative_position_bucket(relative, c["relative_attention_num_buckets"], c["relative_attention_max_distance"], bidirectional=not decoder)
    minimum = torch.finfo(torch.float32).min
    # the mask added to the position bias: padded keys (the encoder), keys after the query (the decoder)
    masks = torch.triu(torch.full((T, T), minimum), diagonal=1)[None, None] if decoder else (~mask)[:, None, None, :].float() * minimum
    crossed = None if memory is None else (~memory_mask)[:, None, None, :].float() * minimum
    layers = c["num_decoder_layers"] if decoder else c["num_layers"]
    for i in range(layers):
        at = f"{part}.block.{i}.layer."
        table = state[f"{part}.block.{i if umt5 else 0}.layer.0.SelfAttention.relative_attention_bias.weight"]
        bias = F.embedding(buckets, table).permute(2, 0, 1)[None] + masks
        x = x + t5_attention(t5_norm(x, state[at + "0.layer_norm.weight"], c), state, at + "0.SelfAttention.", c, bias)
        if decoder:  # (no position bias over the encoder's outputs)
            x = x + t5_attention(t5_norm(x, state[at + "1.layer_norm.weight"], c), state, at + "1.EncDecAttention.", c, crossed, memory)
        ff = at + ("2." if decoder else "1.")
        x = x + t5_feed_forward(t5_norm(x, state[ff + "layer_norm.weight"], c), state, ff + "DenseReluDense.", c)
    return t5_norm(x, state[f"{part}.final_layer_norm.weight"], c)


def make_hf_t5_generation(tied=False):
    """HfT5Generation: T5ForConditionalGeneration's checkpoint as flan-t5's (tie_word_embeddings false: lm_head its own; gated-gelu;
    4 heads d_kv = 6 wide, 24 where d_model is 16; 8 buckets up to 12), transformers' modeling_t5 written out: the encoder of
    HfT5's sizes (2 blocks) and a decoder of 2 blocks (num_decoder_layers), each T5LayerNorm then causal SelfAttention with the
    first block's relative_attention_bias by one-sided buckets (bidirectional=False), T5LayerNorm then EncDecAttention over the
    encoder's valid steps (unscaled, no position bias), then the feed-forward; final_layer_norm, lm_head. Two sources of 11 steps,
    the second padded after 6; the teacher-forced logits of two decoder inputs of 14 steps (decoder_start_token_id 0 first: 14
    steps pass the 4 exact distances into the logarithmic buckets and past 12), and greedy decoding by full recompute (as
    generate(do_sample=False, num_beams=1) without a cache gives it), 12 tokens at most, stopping at eos (1). HfT5Tied (tied):
    T5 v1.0's (t5-small's) as transformers saves it: tie_word_embeddings true (its default, left out of config.json), no
    lm_head.weight (the tied table's), the decoder's output times d_model ** -0.5 before it; HfT5Relu's sizes (4 heads of 4, the
    ReLU feed-forward, 32 buckets up to 128), one decoder block."""
    c = {"architectures": ["T5ForConditionalGeneration"], "model_type": "t5", "vocab_size": 13, "d_model": 16, "d_kv": 4 if tied else 6, "d_ff": 24,
         "num_layers": 2, "num_decoder_layers": 1 if tied else 2, "num_heads": 4, "relative_attention_num_buckets": 32 if tied else 8,
         "relative_attention_max_distance": 128 if tied else 12, "dropout_rate": 0.1, "layer_norm_epsilon": 1e-06, "feed_forward_proj": "relu" if tied else "gated-gelu",
         "is_encoder_decoder": True, "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0, "tie_word_embeddings": False, "torch_dtype": "float32"}
    if tied:
        del c["tie_word_embeddings"]
    torch.manual_seed(735 if tied else 731)
    H, dkv, inner, heads, V = c["d_model"], c["d_kv"], c["d_ff"], c["num_heads"], c["vocab_size"]
    hd = heads * dkv

    def linear(rows, cols):
        return nn.Linear(cols, rows, bias=False).weight.detach().clone()

    def norm_weight():
        return torch.empty(H).uniform_(0.5, 1.5)

    def attention(at, relative):
        for part in ("q", "k", "v"):
            state[at + f"{part}.weight"] = linear(hd, H)
        state[at + "o.weight"] = linear(H, hd)
        if relative:
            state[at + "relative_attention_bias.weight"] = nn.Embedding(c["relative_attention_num_buckets"], heads).weight.detach().clone()

    state = {"shared.weight": nn.Embedding(V, H).weight.detach().clone()}
    for part, layers in (("encoder", c["num_layers"]), ("decoder", c["num_decoder_layers"])):
        for i in range(layers):
            at = f"{part}.block.{i}.layer."
            state[at + "0.layer_norm.weight"] = norm_weight()
            attention(at + "0.SelfAttention.", i == 0)
            if part == "decoder":
                state[at + "1.layer_norm.weight"] = norm_weight()
                attention(at + "1.EncDecAttention.", False)
            ff = at + ("2." if part == "decoder" else "1.")
            state[ff + "layer_norm.weight"] = norm_weight()
            if tied:
                state[ff + "DenseReluDense.wi.weight"] = linear(inner, H)
            else:
                state[ff + "DenseReluDense.wi_0.weight"] = linear(inner, H)
                state[ff + "DenseReluDense.wi_1.weight"] = linear(inner, H)
            state[ff + "DenseReluDense.wo.weight"] = linear(H, inner)
        state[f"{part}.final_layer_norm.weight"] = norm_weight()
    if tied:  # (the blocks' outputs wider than the table's rows, which the residual stream carries: the greedy choices not the input's)
        for name in [n for n in state if n.endswith(("o.weight", "wo.weight"))]:
            state[name] = state[name] * 6
    else:  # (wider logits: the greedy choices clear of rounding)
        state["lm_head.weight"] = linear(V, H) * 4
    S, U = 11, 14
    ids = torch.randint(2, V, (2, S))
    lengths = torch.tensor([S, 6])
    ids[0, S - 1] = ids[1, 5] = c["eos_token_id"]
    ids[1, 6:] = c["pad_token_id"]
    mask = torch.arange(S)[None, :] < lengths[:, None]
    decoder_ids = torch.randint(2, V, (2, U))
    decoder_ids[:, 0] = c["decoder_start_token_id"]

    def logits(memory, memory_mask, inputs):
        y = t5_stack(state, c, "decoder", F.embedding(inputs, state["shared.weight"]), None, memory=memory, memory_mask=memory_mask)
        if tied:  # T5ForConditionalGeneration: "Rescale output before projecting on vocab"
            return (y * H ** -0.5) @ state["shared.weight"].T
        return y @ state["lm_head.weight"].T

    with torch.no_grad():
        memory = t5_stack(state, c, "encoder", F.embedding(ids, state["shared.weight"]), mask)
        teacher = logits(memory, mask, decoder_ids)
        greedy = []
        for b in range(2):
            tokens = [c["decoder_start_token_id"]]
            while len(tokens) <= 12:
                step = logits(memory[b:b + 1, :lengths[b]], mask[b:b + 1, :lengths[b]], torch.tensor([tokens]))[0, -1]
                tokens.append(int(step.argmax()))
                if tokens[-1] == c["eos_token_id"]:
                    break
            greedy.append(tokens[1:] + [-1] * (13 - len(tokens)))
    tensors = dict(state)
    tensors["encoder.embed_tokens.weight"] = tensors["decoder.embed_tokens.weight"] = state["shared.weight"]  # (the tied table's names)
    write_encoder_case("HfT5Tied" if tied else "HfT5Generation", c, tensors, {"ids": ids, "lengths": lengths, "hidden": memory, "decoder_ids": decoder_ids, "logits": teacher,
                                                       "greedy": torch.tensor(greedy)})


def make_hf_t5(gated=True, umt5=False):
    """HfT5 (gated): T5EncoderModel's checkpoint as flan-t5's encoder holds it (shared and encoder.embed_tokens, the one table;
    float32), transformers' modeling_t5 written out: the words; 2 pre-norm blocks, each T5LayerNorm (RMS, no bias, eps 1e-6),
    SelfAttention's q, k, v without biases into 4 heads d_kv = 6 wide (24 where d_model is 16), the scores unscaled plus the
    first block's relative_attention_bias [8, heads] by the bucket of each distance (8 buckets up to 12: 20 steps reach past
    it), the padded keys at float32's minimum, o; then T5LayerNorm and the gated-gelu feed-forward wo(gelu_new(wi_0 x) * wi_1 x);
    final_layer_norm. Two sequences of 20 steps, the second padded after 9; the last hidden state and its mean over the valid
    steps (sentence-t5's pooling). HfT5Relu (gated=False): T5ForConditionalGeneration's checkpoint (shared alone, its decoder's
    and lm_head's tensors beside the encoder's), heads of d_model / num_heads, the ReLU feed-forward wo(relu(wi x)), 32 buckets
    up to 128. HfUmt5 (umt5=True): UMT5EncoderModel's (model_type "umt5"), HfT5's but for a relative_attention_bias in each block,
    read by that block alone."""
    c = {"architectures": ["UMT5EncoderModel" if umt5 else "T5EncoderModel" if gated else "T5ForConditionalGeneration"], "model_type": "umt5" if umt5 else "t5", "vocab_size": 13, "d_model": 16,
         "d_kv": 6 if gated else 4, "d_ff": 24, "num_layers": 2, "num_decoder_layers": 1, "num_heads": 4,
         "relative_attention_num_buckets": 8 if gated else 32, "relative_attention_max_distance": 12 if gated else 128, "dropout_rate": 0.1,
         "layer_norm_epsilon": 1e-06, "feed_forward_proj": "gated-gelu" if gated else "relu", "is_encoder_decoder": True, "pad_token_id": 0,
         "eos_token_id": 1, "decoder_start_token_id": 0, "tie_word_embeddings": not gated, "torch_dtype": "float32"}
    torch.manual_seed(729 if umt5 else 726 if gated else 727)
    H, dkv, inner, heads, layers, T = c["d_model"], c["d_kv"], c["d_ff"], c["num_heads"], c["num_layers"], 20
    hd = heads * dkv

    def linear(rows, cols):
        return nn.Linear(cols, rows, bias=False).weight.detach().clone()

    def norm_weight():
        return torch.empty(H).uniform_(0.5, 1.5)
    state = {"shared.weight": nn.Embedding(c["vocab_size"], H).weight.detach().clone()}
    for i in range(layers):
        at = f"encoder.block.{i}.layer."
        state[at + "0.layer_norm.weight"] = norm_weight()
        for part in ("q", "k", "v"):
            state[at + f"0.SelfAttention.{part}.weight"] = linear(hd, H)
        state[at + "0.SelfAttention.o.weight"] = linear(H, hd)
        if i == 0 or umt5:  # (UMT5: every block its own table)
            state[at + "0.SelfAttention.relative_attention_bias.weight"] = nn.Embedding(c["relative_attention_num_buckets"], heads).weight.detach().clone()
        state[at + "1.layer_norm.weight"] = norm_weight()
        if gated:
            state[at + "1.DenseReluDense.wi_0.weight"] = linear(inner, H)
            state[at + "1.DenseReluDense.wi_1.weight"] = linear(inner, H)
        else:
            state[at + "1.DenseReluDense.wi.weight"] = linear(inner, H)
        state[at + "1.DenseReluDense.wo.weight"] = linear(H, inner)
    state["encoder.final_layer_norm.weight"] = norm_weight()
    ids = torch.randint(2, c["vocab_size"], (2, T))
    lengths = torch.tensor([T, 9])
    ids[1, 8] = c["eos_token_id"]
    ids[0, T - 1] = c["eos_token_id"]
    ids[1, 9:] = c["pad_token_id"]
    mask = torch.arange(T)[None, :] < lengths[:, None]

    with torch.no_grad():
        x = t5_stack(state, c, "encoder", F.embedding(ids, state["shared.weight"]), mask, umt5=umt5)
    pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1)[:, None]
    case = "HfUmt5" if umt5 else "HfT5" if gated else "HfT5Relu"
    tensors = dict(state)
    if gated and not umt5:
        tensors["encoder.embed_tokens.weight"] = state["shared.weight"]  # T5EncoderModel's tied table under both names
    else:  # a full model's decoder and head, which the encoder does not read
        tensors["decoder.block.0.layer.0.SelfAttention.q.weight"] = linear(hd, H)
        tensors["decoder.final_layer_norm.weight"] = norm_weight()
        tensors["lm_head.weight"] = linear(c["vocab_size"], H)
    write_encoder_case(case, c, tensors, {"ids": ids, "lengths": lengths, "hidden": x, "pooled": pooled})
    if gated and not umt5:
        make_sentence_t5(c, tensors, ids, lengths, pooled)


def make_sentence_t5(config, tensors, ids, lengths, pooled):
    """HfSentenceT5: a sentence-transformers folder laid out as sentence-t5's (the encoder at its root, modules.json, 1_Pooling by
    the mean), with two Dense modules as sentence-transformers saves them (config.json and model.safetensors: linear.weight and
    linear.bias) — LaBSE's kind (16 -> 12, a bias, tanh) then sentence-t5's projection (12 -> 8, no bias, Identity) — and
    Normalize; the embeddings as SentenceTransformer.encode computes them: the mean, each Dense, F.normalize."""
    folder = os.path.join(HERE, "HfSentenceT5")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    save_safetensors(os.path.join(folder, "model.safetensors"), tensors)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
               {"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"},
               {"idx": 4, "name": "4", "path": "4_Normalize", "type": "sentence_transformers.models.Normalize"}]
    with open(os.path.join(folder, "modules.json"), "w") as f:
        json.dump(modules, f, indent=2)
    os.makedirs(os.path.join(folder, "1_Pooling"), exist_ok=True)
    with open(os.path.join(folder, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": 16, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False}, f, indent=2)
    os.makedirs(os.path.join(folder, "4_Normalize"), exist_ok=True)
    torch.manual_seed(728)
    y = pooled
    for name, (inner, outer, bias, act) in (("2_Dense", (16, 12, True, "torch.nn.modules.activation.Tanh")), ("3_Dense", (12, 8, False, "torch.nn.modules.linear.Identity"))):
        linear = nn.Linear(inner, outer, bias=bias)
        os.makedirs(os.path.join(folder, name), exist_ok=True)
        with open(os.path.join(folder, name, "config.json"), "w") as f:
            json.dump({"in_features": inner, "out_features": outer, "bias": bias, "activation_function": act}, f)
        weights = {"linear.weight": linear.weight.detach().clone()}
        if bias:
            weights["linear.bias"] = linear.bias.detach().clone()
        save_safetensors(os.path.join(folder, name, "model.safetensors"), weights)
        with torch.no_grad():
            y = linear(y)
            y = torch.tanh(y) if act.endswith("Tanh") else y
    embeddings = F.normalize(y, p=2, dim=1)
    save_safetensors(os.path.join(HERE, "HfSentenceT5.expected.safetensors"), {"ids": ids, "lengths": lengths, "embeddings": embeddings})
    print(f"HfSentenceT5: embeddings {list(embeddings.shape)}")


def make_hf_nomic_bert(pair=False):
    """HfNomicBert: NomicBertModel's checkpoint as nomic-embed-text-v1.5 holds it (nomic-ai's contrastors modeling_hf_nomic_bert
    written out, float32): the words plus the token types' row (token_type_ids all 0), emb_ln; 2 post-norm blocks, each
    attn.Wqkv without a bias into 4 heads 4 wide turned by rotary positions of base 1000 (GPT-NeoX's halves, the whole head),
    scores over sqrt(d) with the padded keys at float32's minimum, out_proj; norm1(attention + x); the SwiGLU MLP
    fc2(fc11(x) * silu(fc12(x))), 256 wide (its gated MLP rounds n_inner up to a multiple of 256); norm2(mlp + x). Two sequences of 9 steps, the second padded after 5; the last hidden state and
    its mean over the valid steps (nomic-embed's pooling). HfNomicBertPair (pair=True): the same with rotary_emb_fraction 0.5
    (each head's first 2 values turned), and a pair [CLS] A [SEP] B [SEP] (ids 1 … 2 … 2) with its token_type_ids by position."""
    c = {"architectures": ["NomicBertModel"], "model_type": "nomic_bert", "n_embd": 16, "n_head": 4, "n_inner": 256, "n_layer": 2, "vocab_size": 13,
         "type_vocab_size": 2, "layer_norm_epsilon": 1e-12, "rotary_emb_base": 1000, "rotary_emb_fraction": 0.5 if pair else 1.0,
         "rotary_emb_interleaved": False, "rotary_emb_scale_base": None, "rotary_scaling_factor": None, "activation_function": "swiglu",
         "prenorm": False, "qkv_proj_bias": False, "mlp_fc1_bias": False, "mlp_fc2_bias": False, "causal": False, "n_positions": 2048,
         "max_trained_positions": 2048, "pad_token_id": 0, "torch_dtype": "float32"}
    torch.manual_seed(724 if pair else 723)
    H, inner, heads, layers, T = c["n_embd"], c["n_inner"], c["n_head"], c["n_layer"], 9
    d, rot = H // heads, int(H // heads * c["rotary_emb_fraction"])

    def linear(rows, cols):
        return nn.Linear(cols, rows, bias=False).weight.detach().clone()

    def ln():
        return torch.empty(H).uniform_(0.5, 1.5), torch.empty(H).uniform_(-0.2, 0.2)
    w, b = ln()
    state = {"embeddings.word_embeddings.weight": nn.Embedding(c["vocab_size"], H).weight.detach().clone(),
             "embeddings.token_type_embeddings.weight": nn.Embedding(2, H).weight.detach().clone(), "emb_ln.weight": w, "emb_ln.bias": b}
    for i in range(layers):
        p = f"encoder.layers.{i}."
        state[p + "attn.Wqkv.weight"], state[p + "attn.out_proj.weight"] = linear(3 * H, H), linear(H, H)
        state[p + "mlp.fc11.weight"], state[p + "mlp.fc12.weight"], state[p + "mlp.fc2.weight"] = linear(inner, H), linear(inner, H), linear(H, inner)
        (state[p + "norm1.weight"], state[p + "norm1.bias"]), (state[p + "norm2.weight"], state[p + "norm2.bias"]) = ln(), ln()
    ids = torch.randint(3, c["vocab_size"], (2, T))
    lengths = torch.tensor([T, 5])
    ids[1, 5:] = 0
    types = torch.zeros_like(ids)
    if pair:
        ids = torch.tensor([[1, 5, 7, 2, 9, 4, 11, 6, 2], [1, 8, 2, 6, 2, 0, 0, 0, 0]])
        types = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 0, 0, 0, 0]])
    mask = (torch.arange(T)[None, :] < lengths[:, None]).float()

    def norm(x, name):
        return F.layer_norm(x, (H,), state[name + ".weight"], state[name + ".bias"], c["layer_norm_epsilon"])

    def rotary(x):  # x [B, T, h, d]: the first rot values of each head, their halves turned (rotate_half), the rest kept
        inv = 1.0 / (c["rotary_emb_base"] ** (torch.arange(0, rot, 2).float() / rot))
        angles = torch.outer(torch.arange(T).float(), inv)
        cos, sin = torch.cat([angles.cos()] * 2, -1)[:, None, :], torch.cat([angles.sin()] * 2, -1)[:, None, :]
        r = x[..., :rot]
        half = torch.cat([-r[..., rot // 2:], r[..., :rot // 2]], -1)
        return torch.cat([r * cos + half * sin, x[..., rot:]], -1)

    with torch.no_grad():
        x = norm(F.embedding(ids, state["embeddings.word_embeddings.weight"]) + F.embedding(types, state["embeddings.token_type_embeddings.weight"]), "emb_ln")
        for i in range(layers):
            p = f"encoder.layers.{i}."
            qkv = (x @ state[p + "attn.Wqkv.weight"].T).view(2, T, 3, heads, d)
            q, k, v = rotary(qkv[:, :, 0]), rotary(qkv[:, :, 1]), qkv[:, :, 2]
            q, k, v = q.permute(0, 2, 1, 3), k.permute(0, 2, 1, 3), v.permute(0, 2, 1, 3)
            scores = q @ k.transpose(-1, -2) / math.sqrt(d) + (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
            attention = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(2, T, H) @ state[p + "attn.out_proj.weight"].T
            x = norm(attention + x, p + "norm1")
            mlp = (x @ state[p + "mlp.fc11.weight"].T * F.silu(x @ state[p + "mlp.fc12.weight"].T)) @ state[p + "mlp.fc2.weight"].T
            x = norm(mlp + x, p + "norm2")
    pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1)[:, None]
    case = "HfNomicBertPair" if pair else "HfNomicBert"
    os.makedirs(os.path.join(HERE, case), exist_ok=True)
    with open(os.path.join(HERE, case, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    save_safetensors(os.path.join(HERE, case, "model.safetensors"), state)
    save_safetensors(os.path.join(HERE, case + ".expected.safetensors"), {"ids": ids, "lengths": lengths, "hidden": x, "pooled": pooled})
    print(f"{case}: {len(state)} tensors, hidden {list(x.shape)}")


def make_hf_yarn():
    """HfLlamaYarn: rope_scaling "yarn" (Qwen2.5's and Qwen3's recipe for long contexts: factor 4 over the original context),
    here over an original context of 64 with heads 16 wide, so that of the 8 pairs the first keeps its frequency, the next two
    are blended and the rest divided by 4; the cosines and sines times 0.1 ln 4 + 1."""
    make_hf_checkpoint("HfLlamaYarn", {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32, "intermediate_size": 48, "num_attention_heads": 2,
        "num_key_value_heads": 1, "num_hidden_layers": 2, "vocab_size": 13, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
        "hidden_act": "silu", "tie_word_embeddings": False, "max_position_embeddings": 256, "torch_dtype": "bfloat16",
        "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}}, 11, 710)


def make_hf_qwen2_window():
    """HfQwen2Window: Qwen2's sliding window on its later layers alone (use_sliding_window, max_window_layers 1 of 2): the first
    layer attends to every earlier step, the second to the 4 most recent, over 11 steps."""
    make_hf_checkpoint("HfQwen2Window", {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 24, "intermediate_size": 40, "num_attention_heads": 6,
        "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 23, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "hidden_act": "silu",
        "tie_word_embeddings": True, "use_sliding_window": True, "sliding_window": 4, "max_window_layers": 1, "max_position_embeddings": 32768,
        "rope_scaling": None, "torch_dtype": "bfloat16"}, 11, 718)


def make_hf_dynamic():
    """HfLlamaDynamic: rope_scaling "dynamic" (dynamic NTK, factor 4) over max_position_embeddings 8, heads 8 wide over 2
    key/value heads, a base of 100 (each pair turning within these few steps): the 11 steps raise the base by
    (4 · 11 / 8 − 3)^(8/6), the first 6 alone keep it, and decoding them one at a
    time raises it step by step from the ninth (logits_decoded)."""
    make_hf_checkpoint("HfLlamaDynamic", {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32, "intermediate_size": 48, "num_attention_heads": 4,
        "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 13, "rms_norm_eps": 1e-06, "rope_theta": 100.0,
        "hidden_act": "silu", "tie_word_embeddings": False, "max_position_embeddings": 8, "torch_dtype": "bfloat16",
        "rope_scaling": {"rope_type": "dynamic", "factor": 4.0}}, 11, 714, short_steps=6, decoded=True)


def make_hf_phi3_partial():
    """HfPhi3Partial: Phi3ForCausalLM with Phi-4-mini's partial_rotary_factor 0.75 (6 of each head's 8 values turned, the pairs
    (j, j + 3) by theta^(-2j/6)), no window."""
    make_hf_checkpoint("HfPhi3Partial", {
        "architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_size": 32, "intermediate_size": 48, "num_attention_heads": 4,
        "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 13, "rope_theta": 10000.0, "hidden_act": "silu", "partial_rotary_factor": 0.75,
        "tie_word_embeddings": False, "sliding_window": None, "max_position_embeddings": 64, "original_max_position_embeddings": 64,
        "rope_scaling": None, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attention_dropout": 0.0, "torch_dtype": "bfloat16"}, 11, 712)


def make_hf_phi3_longrope():
    """HfPhi3LongRope: Phi3ForCausalLM with LongRoPE (Phi-3 at 128k, Phi-3.5): original_max_position_embeddings 8 of 32 (factor 4),
    each of the 4 pairs' frequency divided by its short factor within 8 steps and its long one past them; the 11 steps take
    the long factors, the first 6 alone the short ones."""
    make_hf_checkpoint("HfPhi3LongRope", {
        "architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_size": 32, "intermediate_size": 48, "num_attention_heads": 4,
        "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 13, "rope_theta": 10000.0, "hidden_act": "silu",
        "tie_word_embeddings": False, "sliding_window": None, "max_position_embeddings": 32, "original_max_position_embeddings": 8,
        "rope_scaling": {"type": "longrope", "short_factor": [1.0, 1.25, 1.5, 2.0], "long_factor": [1.0, 2.5, 6.0, 12.0]},
        "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attention_dropout": 0.0, "torch_dtype": "bfloat16"}, 11, 713, short_steps=6)


def make_hf_gemma2():
    """HfGemma2: Gemma2ForCausalLM (Gemma 2's layout): Gemma 3's sandwich of norms without q_norm and k_norm, the layers
    alternating as Gemma 2's default (layer_types absent: the first sliding over 4 of 11 steps, the second full), one
    rope_theta, the scores scaled by query_pre_attn_scalar ** -0.5 = 1/sqrt(12) apart from head_dim 8 and soft-capped at 2,
    the logits soft-capped at 1.5 (caps small enough to bend this tiny model's scores and logits), tied by default."""
    make_hf_checkpoint("HfGemma2", {
        "architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "hidden_size": 16, "intermediate_size": 24, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 8, "query_pre_attn_scalar": 12, "num_hidden_layers": 2, "vocab_size": 13, "rms_norm_eps": 1e-06,
        "rope_theta": 10000.0, "sliding_window": 4, "hidden_activation": "gelu_pytorch_tanh", "attention_bias": False,
        "attn_logit_softcapping": 2.0, "final_logit_softcapping": 1.5, "max_position_embeddings": 64, "torch_dtype": "bfloat16"}, 11, 709)


def make_hf_qwen3():
    """HfQwen3: Qwen3ForCausalLM (Qwen3 0.6B's layout): 4 query heads over 2 key/value heads, each 8 wide where hidden_size /
    num_attention_heads is 4 (head_dim), each head's queries and keys RMS-normalised (q_norm, k_norm), tied embeddings, the
    sliding window configured but unused (use_sliding_window false)."""
    make_hf_checkpoint("HfQwen3", {
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 16, "intermediate_size": 24, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 8, "num_hidden_layers": 2, "vocab_size": 13, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
        "hidden_act": "silu", "attention_bias": False, "tie_word_embeddings": True, "use_sliding_window": False, "sliding_window": None,
        "max_window_layers": 28, "max_position_embeddings": 64, "rope_scaling": None, "torch_dtype": "bfloat16"}, 11, 707)


def make_hf_linear():
    """HfLlamaLinear: rope_scaling "linear" (every frequency divided by the factor, as the positions: LongChat's and Vicuna's
    16k configurations, which write it under the older key "type"), plain multi-head attention."""
    make_hf_checkpoint("HfLlamaLinear", {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "intermediate_size": 24, "num_attention_heads": 2,
        "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 13, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
        "hidden_act": "silu", "tie_word_embeddings": False, "max_position_embeddings": 64, "torch_dtype": "bfloat16",
        "rope_scaling": {"rope_type": "linear", "factor": 4.0}}, 11, 703)


def make_bleu():
    """Corpus BLEU reference values from NLTK (Debian python3-nltk), with and without smoothing method1."""
    from nltk.translate.bleu_score import corpus_bleu, SmoothingFunction
    import random
    rnd = random.Random(5)
    words = "the cat sat on a mat dog ran far away quickly home".split()
    cases = [
        {"refs": [[["the", "cat", "sat", "on", "the", "mat"]]], "hyps": [["the", "cat", "sat", "on", "the", "mat"]]},
        {"refs": [[["the", "cat", "is", "on", "the", "mat"], ["there", "is", "a", "cat", "on", "the", "mat"]]],
         "hyps": [["the", "the", "the", "the", "the", "the", "the"]]},
        {"refs": [[["1998", "-", "03", "-", "03"]], [["2001", "-", "12", "-", "25"]]], "hyps": [["1998", "-", "03", "-", "04"], ["2001", "-", "12"]]},
    ]
    for _ in range(6):
        refs, hyps = [], []
        for _ in range(rnd.randint(1, 5)):
            ref = [rnd.choice(words) for _ in range(rnd.randint(3, 12))]
            hyp = [w if rnd.random() < 0.7 else rnd.choice(words) for w in ref[: rnd.randint(2, len(ref) + 2)]]
            refs.append([ref] + ([[rnd.choice(words) for _ in range(rnd.randint(3, 10))]] if rnd.random() < 0.5 else []))
            hyps.append(hyp)
        cases.append({"refs": refs, "hyps": hyps})
    # Corpora where smoothing matters: a higher-order n-gram count is zero while unigrams match (short or scrambled
    # hypotheses, one sentence or several, one reference or two), so method0 and method1 differ.
    cases += [
        {"refs": [[["the", "cat", "sat"]]], "hyps": [["the", "cat", "sat"]]},
        {"refs": [[["a", "b", "c", "d", "e"]]], "hyps": [["a", "c", "b", "e", "d"]]},
        {"refs": [[["on", "the", "mat"]], [["the", "dog", "ran", "far", "away"]]], "hyps": [["on", "mat"], ["the", "dog", "ran", "away"]]},
        {"refs": [[["ran"]], [["home", "quickly"]]], "hyps": [["ran"], ["home"]]},
    ]
    for _ in range(6):
        refs, hyps = [], []
        for _ in range(rnd.randint(1, 4)):
            ref = [rnd.choice(words) for _ in range(rnd.randint(2, 8))]
            hyp = [rnd.choice(ref) if rnd.random() < 0.8 else rnd.choice(words) for _ in range(rnd.randint(1, len(ref) + 1))]
            refs.append([ref] + ([[rnd.choice(words) for _ in range(rnd.randint(2, 6))]] if rnd.random() < 0.5 else []))
            hyps.append(hyp)
        cases.append({"refs": refs, "hyps": hyps})
    for case in cases:
        case["bleu"] = corpus_bleu(case["refs"], case["hyps"], smoothing_function=SmoothingFunction().method0)
        case["bleu_smoothed"] = corpus_bleu(case["refs"], case["hyps"], smoothing_function=SmoothingFunction().method1)
    with open(os.path.join(HERE, "bleu.json"), "w") as f:
        json.dump(cases, f, indent=1)
    differ = sum(1 for c in cases if c["bleu"] != c["bleu_smoothed"])
    print(f"bleu: {len(cases)} corpora, smoothing changes {differ}")


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] in ("F32", "I64"), info
        begin, end = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32 if info["dtype"] == "F32" else torch.int64).reshape(info["shape"])
    return out


def check_exported():
    """Loads weights trained by Dsl (written by ExportTests) into the same nn.Module and checks the outputs."""
    folder = os.path.join(HERE, "exported")
    weights = read_safetensors(os.path.join(folder, "LstmGruDense.weights.safetensors"))
    check = read_safetensors(os.path.join(folder, "LstmGruDense.check.safetensors"))
    layers = next(l for c, l, *_ in CASES if c == "LstmGruDense")
    model = Stack(layers)
    model.load_state_dict(weights)  # strict: every name and shape must match
    with torch.no_grad():
        out = model(check["input"].long())
    err = (out - check["output"]).abs().max().item() / check["output"].abs().max().item()
    print(f"Dsl-trained weights in PyTorch: max relative difference {err:.2e}")
    assert err < 1e-4, err


if __name__ == "__main__":
    import sys
    if "--check-exported" in sys.argv:
        check_exported()
        sys.exit(0)
    if "--bleu" in sys.argv:  # only bleu.json (needs python3-nltk, not torch's other fixtures)
        make_bleu()
        sys.exit(0)
    if "--hf-int8" in sys.argv:  # only HfLlamaInt8 (a compressed-tensors checkpoint)
        make_hf_llama_int8()
        sys.exit(0)
    if "--int8" in sys.argv:  # only Int8Weights.expected.safetensors
        make_int8_weights()
        sys.exit(0)
    if "--half" in sys.argv:  # only the HalfPrecision.* files
        make_half_precision()
        sys.exit(0)
    if "--projection" in sys.argv:  # only the *LstmProjection* files
        make_projection()
        sys.exit(0)
    if "--feeding" in sys.argv:  # only the Seq2SeqFeed* files
        make_input_feeding()
        sys.exit(0)
    if "--schedules" in sys.argv:  # only schedules.safetensors
        make_schedules()
        sys.exit(0)
    if "--groups" in sys.argv:  # only parameter_groups.safetensors and plateau.safetensors
        make_parameter_groups()
        make_plateau()
        sys.exit(0)
    if "--label-smoothing" in sys.argv:  # only label_smoothing.safetensors, LstmSmoothed.* and TransformerSeq2SeqSmoothed.*
        make_label_smoothing()
        sys.exit(0)
    if "--transformer" in sys.argv:  # only the Transformer* files
        make_transformer("TransformerSeq2Seq", False, 510)
        make_transformer("TransformerSeq2SeqPreNorm", True, 511)
        sys.exit(0)
    if "--gelu" in sys.argv:  # only GptBlock, NanoGptBlock and FeedForwardActivations
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case in ("GptBlock", "FeedForwardActivations", "NanoGptBlock"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        sys.exit(0)
    if "--stream" in sys.argv:  # only the Stream* files
        make_streams()
        sys.exit(0)
    if "--scaled" in sys.argv:  # only the scaled embeddings' cases
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case.startswith("ScaledEmbedding"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        sys.exit(0)
    if "--positions" in sys.argv:  # only the learned position embeddings' cases
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case in ("Gpt2Block", "PositionEmbeddingLstm"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        sys.exit(0)
    if "--tied" in sys.argv:  # only the *Tied cases
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case.endswith("Tied"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        make_seq2seq("Seq2SeqTied", "lstm", "general", False, 505, extra_dense=3, tied=True)
        sys.exit(0)
    if "--gated" in sys.argv:  # only the gated linear units' and biasless attention's cases
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case in ("GatedFeedForward", "LlamaBlock", "AttentionWithoutBias"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        sys.exit(0)
    if "--qk-norm" in sys.argv:  # only the cases with heads of their own width and QK-norm
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case in ("QwenBlock", "HeadWidthAttention"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        sys.exit(0)
    if "--partial" in sys.argv:  # only the partial rotation's cases
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case == "PartialRotaryBlock":
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        make_hf_phi3_partial()
        sys.exit(0)
    if "--hf-neox" in sys.argv:  # only the GPT-NeoX checkpoints
        make_hf_gpt_neox("HfGptNeoX", True, 811)
        make_hf_gpt_neox("HfGptNeoXSequential", False, 812)
        sys.exit(0)
    if "--hf-phi" in sys.argv:  # only the Phi (1, 1.5, 2) checkpoint
        make_hf_phi()
        sys.exit(0)
    if "--hf-stablelm" in sys.argv:  # only the StableLM checkpoints
        make_hf_stablelm("HfStableLm", False, 931)
        make_hf_stablelm("HfStableLmParallel", True, 932)
        sys.exit(0)
    if "--hf-bigcode" in sys.argv:  # only the GPT-BigCode checkpoints
        make_hf_gpt_bigcode("HfGptBigCode", True, 951)
        make_hf_gpt_bigcode("HfGptBigCodeMha", False, 952)
        sys.exit(0)
    if "--hf-gptj" in sys.argv:  # only the GPT-J and CodeGen checkpoints
        make_hf_gptj("HfGptJ", False, 991)
        make_hf_gptj("HfCodeGen", True, 992)
        sys.exit(0)
    if "--hf-opt" in sys.argv:  # only the OPT checkpoints
        make_hf_opt("HfOpt", True, 1001)
        make_hf_opt("HfOptPostNorm", False, 1002)
        sys.exit(0)
    if "--hf-neo" in sys.argv:  # only the GPT-Neo checkpoint
        make_hf_gpt_neo()
        sys.exit(0)
    if "--hf-mixtral" in sys.argv:  # only the sparse decoders' checkpoints (Mixtral's, OLMoE's, Qwen3-MoE's, Qwen2-MoE's)
        make_hf_sparse("HfMixtral", "mixtral", 1001, window=6)
        make_hf_sparse("HfMixtralTied", "mixtral", 1002, tied=True)
        make_hf_sparse("HfOlmoe", "olmoe", 1003, normalize=False, bias=True)
        make_hf_sparse("HfQwen3Moe", "qwen3_moe", 1004, normalize=True, head_dim=12, tied=True)
        make_hf_sparse("HfQwen2Moe", "qwen2_moe", 1005, normalize=False)
        make_hf_sparse("HfQwen2MoeMixed", "qwen2_moe", 1006, normalize=False, layers=3, mlp_only=(0,))
        make_hf_sparse("HfQwen3MoeMixed", "qwen3_moe", 1007, normalize=True, head_dim=12, layers=3, sparse_step=2)
        sys.exit(0)
    if "--hf-cohere" in sys.argv:  # only the Cohere checkpoints
        make_hf_cohere("HfCohere", 1010, bias=True, tied=True)
        make_hf_cohere("HfCohereUntied", 1011, bias=False, tied=False)
        make_hf_cohere("HfCohere2", 1012, bias=False, tied=True, layer_types=("sliding_attention", "full_attention", "sliding_attention"))
        sys.exit(0)
    if "--hf-granite" in sys.argv:  # only the Granite checkpoints (Granite's, Granite MoE's, with shared experts too)
        make_hf_granite()
        make_hf_granite(moe=True)
        make_hf_granite(moe=True, shared=20)
        sys.exit(0)
    if "--hf-olmo" in sys.argv:  # only the OLMo and OLMo 2 checkpoints
        make_hf_olmo("HfOlmo", True, False, 980)
        make_hf_olmo("HfOlmoBiased", False, True, 981)
        make_hf_olmo("HfOlmoClipped", False, True, 982, clip=0.6)
        make_hf_olmo2("HfOlmo2", False, 983)
        make_hf_olmo2("HfOlmo2Tied", True, 984)
        sys.exit(0)
    if "--hf-starcoder2" in sys.argv:  # only the StarCoder2 checkpoint
        make_hf_starcoder2()
        sys.exit(0)
    if "--hf-falcon" in sys.argv:  # only the Falcon checkpoints
        make_hf_falcon("HfFalcon", False, 971)
        make_hf_falcon("HfFalconNew", True, 972)
        make_hf_falcon("HfFalconOneNorm", True, 973, norms=1)
        make_hf_falcon("HfFalconSequential", False, 974, sequential=True)
        make_hf_falcon("HfFalconRw", False, 975, sequential=True, alibi=True)
        sys.exit(0)
    if "--parallel" in sys.argv:  # only the parallel blocks' case
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case == "ParallelBlock":
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        sys.exit(0)
    if "--moe" in sys.argv:  # only the mixtures of experts
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case in ("MoeBlock", "MoeVariants", "MoeBalanced", "MoeShared"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        sys.exit(0)
    if "--no-affine" in sys.argv:  # only the norms without their affine maps and the clipped attention
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case in ("NormsWithoutAffine", "ClippedAttention", "Olmo2Block", "ScaledBlock"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        sys.exit(0)
    if "--relative" in sys.argv:  # only the relative position bias's case and buckets
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case in ("RelativeAttention", "CausalRelativeAttention", "AlibiAttention"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        make_relative_buckets()
        sys.exit(0)
    if "--softcap" in sys.argv:  # only the soft-capped cases
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case in ("Gemma2Block", "SoftCapAttention"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        sys.exit(0)
    if "--grouped" in sys.argv:  # only the grouped-query attention cases
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case in ("GroupedQueryBlock", "MultiQueryAttention"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        sys.exit(0)
    if "--hf-llama" in sys.argv:  # only the Hugging Face LLaMA checkpoint
        make_hf_llama()
        sys.exit(0)
    if "--hf-gemma" in sys.argv:  # only the Hugging Face Gemma checkpoint
        make_hf_gemma()
        sys.exit(0)
    if "--hf-gemma3" in sys.argv:  # only the Hugging Face Gemma 3 checkpoint
        make_hf_gemma3()
        sys.exit(0)
    if "--hf-gpt2" in sys.argv:  # only the Hugging Face GPT-2 checkpoint
        make_hf_gpt2()
        sys.exit(0)
    if "--hf-bert" in sys.argv:  # only the Hugging Face BERT and RoBERTa checkpoints
        make_hf_berts()
        sys.exit(0)
    if "--hf-bert-mlm" in sys.argv:  # only the masked-LM checkpoints (from HfBert's and HfRoberta's)
        make_hf_bert_masked_lm()
        make_hf_bert_masked_lm(roberta=True)
        sys.exit(0)
    if "--hf-t5" in sys.argv:  # only the Hugging Face T5 checkpoints
        make_hf_t5(gated=True)
        make_hf_t5(gated=False)
        make_hf_t5(umt5=True)
        make_hf_t5_generation()
        make_hf_t5_generation(tied=True)
        sys.exit(0)
    if "--hf-bloom" in sys.argv:  # only the BLOOM and MPT checkpoints
        make_hf_bloom()
        make_hf_mpt()
        sys.exit(0)
    if "--hf-jina" in sys.argv:  # only the JinaBERT checkpoint
        make_hf_jina_bert()
        sys.exit(0)
    if "--hf-mpnet" in sys.argv:  # only the Hugging Face MPNet checkpoints
        make_hf_mpnet()
        sys.exit(0)
    if "--hf-modernbert" in sys.argv:  # only the Hugging Face ModernBERT checkpoint
        make_hf_modernbert()
        sys.exit(0)
    if "--hf-nomic" in sys.argv:  # only the NomicBERT checkpoints
        make_hf_nomic_bert()
        make_hf_nomic_bert(pair=True)
        sys.exit(0)
    if "--hf-longrope" in sys.argv:  # only the Hugging Face Phi-3 checkpoint with LongRoPE
        make_hf_phi3_longrope()
        sys.exit(0)
    if "--hf-yarn" in sys.argv:  # only the Hugging Face checkpoint with YaRN's rotary scaling
        make_hf_yarn()
        sys.exit(0)
    if "--hf-dynamic" in sys.argv:  # only the Hugging Face checkpoint with dynamic NTK scaling
        make_hf_dynamic()
        sys.exit(0)
    if "--hf-qwen2-window" in sys.argv:  # only the Hugging Face Qwen2 checkpoint windowed on its later layers
        make_hf_qwen2_window()
        sys.exit(0)
    if "--hf-gemma2" in sys.argv:  # only the Hugging Face Gemma 2 checkpoint
        make_hf_gemma2()
        sys.exit(0)
    if "--hf-qwen3" in sys.argv:  # only the Hugging Face Qwen3 checkpoint
        make_hf_qwen3()
        sys.exit(0)
    if "--hf-phi3" in sys.argv:  # only the Hugging Face Phi-3 checkpoint
        make_hf_phi3()
        sys.exit(0)
    if "--hf-linear" in sys.argv:  # only the Hugging Face checkpoint with linear rotary scaling
        make_hf_linear()
        sys.exit(0)
    if "--window" in sys.argv:  # only the sliding-window cases and the Hugging Face Mistral checkpoint
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case.startswith("SlidingWindow"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        make_hf_mistral()
        sys.exit(0)
    if "--rotary" in sys.argv:  # only the rotary position embeddings' cases
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case.startswith("Rotary"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        sys.exit(0)
    if "--rmsnorm" in sys.argv:  # only the RMS norm cases
        for i, (case, layers, batch, steps, loss) in enumerate(CASES):
            if case.startswith("RmsNorm"):
                make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
        sys.exit(0)
    if "--shared" in sys.argv:  # only the encoder-decoder sharing one embedding
        make_shared()
        sys.exit(0)
    for i, (case, layers, batch, steps, loss) in enumerate(CASES):
        make(case, layers, batch, steps, loss, seed=100 + i, ignore=(steps * batch > 1))
    for i, (case, layers, batch, steps, loss) in enumerate(STATEFUL):
        make_stateful(case, layers, batch, steps, loss, seed=200 + i)
    make_masked("MaskedLstm", [("embedding", 9, 4), ("lstm", 6, {"layers": 2, "bidirectional": True}), ("dense", 9)], [6, 3, 1, 5], "ce", 400)
    make_masked("MaskedGruManyToOne", [("input", 3), ("gru", 5, {"bidirectional": True, "return_sequences": False}), ("dense", 2)], [2, 5, 4], "mse", 401)
    make_masked("MaskedAttention", [("embedding", 9, 6), ("attention", 3, {"causal": True}), ("dense", 9)], [5, 2, 4], "ce", 403)
    make_masked("MaskedLstmAttention", [("embedding", 9, 4), ("lstm", 3, {"bidirectional": True}), ("attention", 2), ("dense", 9)], [3, 6, 1, 4], "ce", 404)
    make_masked("MaskedAttentionPool", [("embedding", 9, 4), ("gru", 6), ("attention", 3, {"pool": True}), ("dense", 5)], [4, 1, 3, 2], "ce", 405)
    make_masked("MaskedAdditiveSelf", [("embedding", 9, 4), ("attention", 1, {"score": "additive"}), ("dense", 9)], [5, 2, 4], "ce", 406)
    make_masked("MaskedGeneralPool", [("input", 3), ("attention", 1, {"score": "general", "pool": True}), ("dense", 2)], [4, 1, 3], "mse", 407)
    make_masked("MaskedRnn", [("embedding", 7, 3), ("rnn", 10, {"bidirectional": True}), ("dense", 7)], [4, 1, 3], "ce", 402)
    make_tbptt("TbpttLstm", [("embedding", 7, 4), ("lstm", 6), ("dense", 7)], 2, 11, 3, 5, 0.5, 300)
    make_tbptt("TbpttGru", [("embedding", 7, 4), ("gru", 10), ("dense", 7)], 3, 10, 2, 4, 0.3, 301)
    make_streams()
    make_seq2seq("Seq2SeqDot", "lstm", "dot", False, 500)
    make_seq2seq("Seq2SeqScaledDotFreeRunning", "lstm", "mha", True, 501, heads=2)
    make_seq2seq("Seq2SeqMultiHead", "lstm", "mha", False, 504, dec_hidden=4, heads=2)
    make_seq2seq("Seq2SeqGeneral", "lstm", "general", False, 502, dec_hidden=5)
    make_seq2seq("Seq2SeqAdditive", "gru", "additive", False, 503, units=7, extra_dense=6, enc_hidden=4, dec_hidden=5)
    make_seq2seq("Seq2SeqTied", "lstm", "general", False, 505, extra_dense=3, tied=True)
    make_transformer("TransformerSeq2Seq", False, 510)
    make_transformer("TransformerSeq2SeqPreNorm", True, 511)
    make_input_feeding()
    make_label_smoothing()
    make_projection()
    make_optimizers()
    make_parameter_groups()
    make_plateau()
    make_schedules()
    make_half_precision()
    make_int8_weights()
    make_bleu()
    make_hf_llama()
    make_shared()
