"""Model definitions: sizes, seeding, paper configurations (no import, no MLIR)."""

import pytest
import torch

from fuseflow.models import GCN, GPTBigBirdBlock, GraphSAGE, SparseAutoencoder


def test_models_are_seeded_and_do_not_touch_the_global_rng():
    state = torch.random.get_rng_state()
    a, b = GCN(8, 4, 2, seed=3), GCN(8, 4, 2, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a.lin1.weight, b.lin1.weight)
    assert not torch.equal(a.lin1.weight, GCN(8, 4, 2, seed=4).lin1.weight)
    s1, s2 = GraphSAGE(8, 4, 2, seed=1), GraphSAGE(8, 4, 2, seed=1)
    assert torch.equal(s1.layer2.neigh_lin.weight, s2.layer2.neigh_lin.weight)


def test_sparse_autoencoder_weights_have_the_density():
    m = SparseAutoencoder(400, 100, density=0.25)
    for w in (m.enc.weight, m.dec.weight):
        assert abs((w != 0).float().mean().item() - 0.25) < 0.02
    x = m.example_input(3)
    assert m(x).shape == (3, 400) and ((m(x) > 0) & (m(x) < 1)).all()


def test_paper_configurations():
    assert SparseAutoencoder.PAPER["256k"] == (262144, 512)  # too large to build in a unit test
    with pytest.raises(ValueError, match="unknown config"):
        SparseAutoencoder.paper("huge")
    gpt = GPTBigBirdBlock.paper()
    assert gpt.qkv.weight.shape == (3 * 768, 768) and gpt.heads == 12 and gpt.fc1.out_features == 3072
    assert GCN.paper(1433, 7).lin1.out_features == 16


def test_gpt_block_masks_attention():
    m = GPTBigBirdBlock(d_model=16, heads=2, ffn=32)
    x, mask = m.example_inputs(seq=32, block=4)
    assert mask.shape == (32, 32) and 0 < mask.mean() < 1
    out = m(x, mask)
    assert out.shape == (32, 16) and torch.isfinite(out).all()
    # Changing an attended-away position's key must not change the first query's output.
    row = next(i for i in range(32) if (mask[i] == 0).any())
    blocked = (mask[row] == 0).nonzero()[0].item()
    x2 = x.clone()
    x2[blocked] += 5.0
    before, after = m.attention(m.ln1(x), mask)[row], m.attention(m.ln1(x2), mask)[row]
    assert torch.allclose(before, after, atol=1e-5)
    with pytest.raises(ValueError, match="multiple of heads"):
        GPTBigBirdBlock(d_model=10, heads=3)
