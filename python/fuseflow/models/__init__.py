"""The four sparse applications as plain ``torch.nn.Module``s, with small default sizes and the
paper-scale sizes selectable (``*.paper(...)`` constructors; see APPS_AND_RESULTS in the design
docs).

- :class:`SparseAutoencoder`: ``sigmoid(relu(x W1^T + b1) W2^T + b2)``; W1/W2 pruned to a density
  and imported sparse with ``sparse={"enc.weight": "csr", "dec.weight": "csr"}``.
- :class:`GCN`: 2 layers, ``A relu(A X W1 + b1) W2 + b2`` with A (normalized adjacency) sparse.
- :class:`GraphSAGE`: 2 layers, mean aggregation ``relu(X Ws + (D^-1 A X) Wn + b)``.
- :class:`GPTBigBirdBlock`: a GPT-3 decoder block with block-sparse (BigBird) masked attention;
  :func:`bigbird_layout` / :func:`bigbird_mask` make the seeded block layout.
"""

from fuseflow.models.bigbird import BigBirdLayout, bigbird_layout, bigbird_mask
from fuseflow.models.gcn import GCN
from fuseflow.models.gpt import GPTBigBirdBlock
from fuseflow.models.sae import SparseAutoencoder
from fuseflow.models.sage import GraphSAGE

__all__ = [
    "GCN",
    "BigBirdLayout",
    "GPTBigBirdBlock",
    "GraphSAGE",
    "SparseAutoencoder",
    "bigbird_layout",
    "bigbird_mask",
]
