"""A GPT-3 decoder block whose attention is masked by a BigBird block-sparse layout."""

from __future__ import annotations

import math

import torch
from torch import nn

from fuseflow.models._init import init_linear_, private_rng
from fuseflow.models.bigbird import bigbird_mask


class GPTBigBirdBlock(nn.Module):
    """Pre-LN decoder block on one sequence ``x`` (seq x d_model) with attention ``mask``::

        h   = x + Wo · MHA(LN1(x), mask)          # softmax over the mask's stored entries
        out = h + W2 · gelu(W1 · LN2(h))

    ``mask`` (seq x seq, 1 = attend) is an input, usually block-sparse (BSR with the layout's
    block size; see :func:`fuseflow.models.bigbird_mask`). Masked positions are filled with
    -inf before the softmax, so each row normalizes over its stored entries only.
    """

    PAPER = {"d_model": 768, "heads": 12, "seq": 1024, "ffn": 3072, "block": 32}

    def __init__(self, d_model: int = 32, heads: int = 2, ffn: int = 64, *, seed: int = 0):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not a multiple of heads {heads}")
        g = torch.Generator().manual_seed(seed)
        self.heads = heads
        with private_rng():
            self.ln1 = nn.LayerNorm(d_model)
            self.qkv = nn.Linear(d_model, 3 * d_model)
            self.out = nn.Linear(d_model, d_model)
            self.ln2 = nn.LayerNorm(d_model)
            self.fc1 = nn.Linear(d_model, ffn)
            self.fc2 = nn.Linear(ffn, d_model)
            self.gelu = nn.GELU()
            for lin in (self.qkv, self.out, self.fc1, self.fc2):
                init_linear_(lin, g)

    @classmethod
    def paper(cls, **kw) -> GPTBigBirdBlock:
        """GPT-3 Small: d_model 768, 12 heads of 64, FFN 3072 (use seq 1024 inputs)."""
        p = cls.PAPER
        return cls(p["d_model"], p["heads"], p["ffn"], **kw)

    def example_inputs(self, seq: int = 32, block: int = 8, seed: int = 0, **layout):
        """``(x, mask)``: a seeded input sequence and the dense BigBird mask."""
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(seq, self.ln1.normalized_shape[0], generator=g)
        return x, bigbird_mask(seq, block, seed=seed, **layout)

    def attention(self, x, mask):
        seq, d = x.shape
        dh = d // self.heads
        q, k, v = self.qkv(x).split(d, dim=-1)
        q = q.reshape(seq, self.heads, dh).transpose(0, 1)
        k = k.reshape(seq, self.heads, dh).transpose(0, 1)
        v = v.reshape(seq, self.heads, dh).transpose(0, 1)
        scores = (q @ k.transpose(1, 2)) * (1.0 / math.sqrt(dh))
        scores = scores.masked_fill(mask == 0, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        ctx = (probs @ v).transpose(0, 1).reshape(seq, d)
        return self.out(ctx)

    def forward(self, x, mask):
        h = x + self.attention(self.ln1(x), mask)
        return h + self.fc2(self.gelu(self.fc1(self.ln2(h))))
