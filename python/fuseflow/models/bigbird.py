"""BigBird block-sparse attention layouts (global, sliding window and random blocks; seeded).

With ``n = seq // block`` block rows, block (i, j) is attended when:

- global: ``i`` or ``j`` is among the first ``global_blocks`` or the last ``global_blocks``
  block rows/columns (those rows and columns are dense);
- window: ``|i - j| <= window // 2`` (``window = 3``: itself and one block on each side);
- random: ``j`` is one of ``random_blocks`` blocks drawn per block row, without replacement,
  among the blocks not already attended (numpy ``default_rng(seed)``).

Example (seq 8, block 2, no random blocks)::

    >>> bigbird_layout(8, 2, random_blocks=0).blocks.astype(int)
    array([[1, 1, 1, 1],
           [1, 1, 1, 1],
           [1, 1, 1, 1],
           [1, 1, 1, 1]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BigBirdLayout:
    """A block layout: ``blocks[i, j]`` says whether query block i attends to key block j."""

    seq: int
    block: int
    blocks: np.ndarray  # (n, n) bool

    @property
    def density(self) -> float:
        return float(self.blocks.mean())

    def mask(self, dtype=np.float32) -> np.ndarray:
        """The (seq x seq) 0/1 element mask."""
        return np.kron(self.blocks, np.ones((self.block, self.block), bool)).astype(dtype)


def bigbird_layout(seq: int, block: int, *, global_blocks: int = 1, window: int = 3,
                   random_blocks: int = 2, seed: int = 0) -> BigBirdLayout:
    """The seeded BigBird layout for a sequence of ``seq`` tokens in blocks of ``block``."""
    if block <= 0 or seq % block:
        raise ValueError(f"block size {block} must be positive and divide the sequence {seq}")
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd number of blocks, got {window}")
    n = seq // block
    blocks = np.zeros((n, n), bool)
    g = min(global_blocks, n)
    if g:
        blocks[:g, :] = blocks[-g:, :] = True
        blocks[:, :g] = blocks[:, -g:] = True
    half = window // 2
    for i in range(n):
        blocks[i, max(0, i - half):min(n, i + half + 1)] = True
    rng = np.random.default_rng(seed)
    for i in range(n):
        free = np.flatnonzero(~blocks[i])
        if len(free) and random_blocks:
            pick = rng.choice(free, size=min(random_blocks, len(free)), replace=False)
            blocks[i, pick] = True
    return BigBirdLayout(seq, block, blocks)


def bigbird_mask(seq: int, block: int, **kw):
    """The (seq x seq) 0/1 float32 torch mask of :func:`bigbird_layout` (dense layout; convert
    with ``.to_sparse_bsr((block, block))`` or name a format when importing)."""
    import torch

    return torch.from_numpy(bigbird_layout(seq, block, **kw).mask())
