"""Models and data for tests/torch_dumps.py, the end-to-end test of tools/dump_torch.py.

Each factory is what `dump_torch.py --model tests/torch_models.py:NAME` calls; each seeds
torch itself, so the test and dump_torch build the same weights.  The MLPs are trained for
120 full-batch Adam steps on a 16-dimensional, 4-class Gaussian-cluster problem, so their test
accuracy means something (a random network's would be chance)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

D_IN, CLASSES = 16, 4


def clusters(n, seed):
    """n samples of 4 Gaussian clusters in 16 dimensions (centres 1.5 apart per coordinate)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(CLASSES, D_IN, generator=torch.Generator().manual_seed(1234)) * 1.5
    y = torch.randint(0, CLASSES, (n,), generator=g)
    return centres[y] + torch.randn(n, D_IN, generator=g) * 1.5, y


def _train(model, steps=120):
    x, y = clusters(512, 1)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


def gelu_mlp():
    """16-48-32-4 with GELU (erf form) between the layers."""
    torch.manual_seed(0)
    return _train(nn.Sequential(nn.Linear(D_IN, 48), nn.GELU(), nn.Linear(48, 32), nn.GELU(),
                                nn.Linear(32, CLASSES)))


def ln_mlp():
    """16-48-32-4 with LayerNorm and GELU after the first layer, tanh after the second (and a
    Dropout, which the dump passes over)."""
    torch.manual_seed(0)
    return _train(nn.Sequential(nn.Linear(D_IN, 48), nn.LayerNorm(48), nn.GELU(), nn.Dropout(0.1),
                                nn.Linear(48, 32), nn.Tanh(), nn.Linear(32, CLASSES)))


def mlp_data():
    """A dataset of (x, y) samples, one at a time: 768 cluster samples."""
    x, y = clusters(768, 2)
    return [(x[i], int(y[i])) for i in range(len(y))]


def transformer_block():
    """One nn.TransformerEncoderLayer, d_model 64, 4 heads, batch_first (so that in eval mode
    without autograd PyTorch runs its fused fast path)."""
    torch.manual_seed(0)
    return nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.0,
                                      batch_first=True, activation="gelu").eval()


class TinyEncoder(nn.Module):
    """Token embedding, a 2-layer nn.TransformerEncoder, a cross-attention whose keys and
    values have another width (kdim = vdim = 32: separate q/k/v projection weights), a
    projection applied with F.linear and a parameter of its own, and a linear head."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 64)
        layer = nn.TransformerEncoderLayer(64, 4, dim_feedforward=96, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.memory = nn.Parameter(torch.randn(6, 32) * 0.5)
        self.cross = nn.MultiheadAttention(64, 4, kdim=32, vdim=32, batch_first=True)
        self.proj_w = nn.Parameter(torch.randn(64, 64) * 0.1)
        self.head = nn.Linear(64, 50)
        self.unused = nn.Linear(64, 64)  # never called: reported as skipped

    def forward(self, tokens):
        h = self.encoder(self.embed(tokens))
        mem = self.memory.unsqueeze(0).expand(h.shape[0], -1, -1)
        h = h + self.cross(h, mem, mem, need_weights=False)[0]
        return self.head(F.linear(h, self.proj_w))


def tiny_encoder():
    torch.manual_seed(0)
    return TinyEncoder().eval()
