#!/usr/bin/env python3
"""Write the PyTorch-oracle fixture for the language-model job
(examples/train_lm.ts, tested by test/examples/train_lm.test.ts).

Run:  /usr/bin/python3 scripts/make_lm_fixtures.py

Builds the job's two models in PyTorch at small sizes (a GPT-style
transformer of pre-norm nn.TransformerEncoderLayer blocks under a causal
mask, and an nn.LSTM language model), trains each for STEPS steps exactly
as the job does (cross-entropy, AdamW with decay on the matrices only,
LambdaLR warmup then cosine, clip_grad_norm_) on fixed batches of a small
text, and records the loss and learning rate of every step.

Writes test/fixtures/lm_train.json:
  {
    "text": str,                       # the corpus; its sorted characters are the vocabulary
    "steps", "batch_size", "block_size", "lr", "min_lr_ratio", "warmup",
    "weight_decay", "betas", "grad_clip",
    "starts": [[int] * batch_size] * steps,   # where each step's sequences start in the text
    "models": [
      {"model": "transformer" | "lstm", "config": {...},   # the job's model config
       "state": {name: T},             # PyTorch's initial state dict, loaded into Kindling's model
       "losses": [float] * steps,      # loss.item() before each optimizer step
       "lrs": [float] * steps}         # the lr each step used
    ]
  }
T is {"shape", "dtype", "data"}, float32 written as the shortest decimal that
reads back as the same float32 (scripts/fixture_encoding.py).
"""

import json
import math
import os
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_lm_fixtures.py needs PyTorch (1.13 CPU)')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_encoding import enc_scalar  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'lm_train.json')

# A few public-domain lines (Moby Dick's first paragraph), enough for
# batches with structure; the job itself trains on the whole book.
TEXT = (
    'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, '
    'and nothing particular to interest me on shore, I thought I would sail about a little and see the watery '
    'part of the world. It is a way I have of driving off the spleen and regulating the circulation.'
)

STEPS = 50
BATCH = 4
BLOCK = 16
LR = 3e-3
MIN_LR_RATIO = 0.1
WARMUP = 10
WEIGHT_DECAY = 0.1
BETAS = (0.9, 0.99)
GRAD_CLIP = 1.0


class GPT(nn.Module):
    """Token and position embeddings, pre-norm encoder layers under a causal mask, a final LayerNorm, a head."""

    def __init__(self, vocab, block, d_model, n_layer, n_head):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, d_model)
        self.pos_emb = nn.Embedding(block, d_model)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(d_model, n_head, 4 * d_model, 0.0, 'gelu', batch_first=True, norm_first=True)
            for _ in range(n_layer)
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(t))
        mask = nn.Transformer.generate_square_subsequent_mask(t)
        for b in self.blocks:
            x = b(x, src_mask=mask)
        return self.head(self.ln_f(x))


class LSTMLM(nn.Module):
    """Token embedding, a stacked nn.LSTM, a head."""

    def __init__(self, vocab, d_model, hidden, n_layer):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, d_model)
        self.lstm = nn.LSTM(d_model, hidden, n_layer, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx):
        out, _ = self.lstm(self.tok_emb(idx))
        return self.head(out)


def lr_factor(step, warmup, total, min_ratio):
    """Linear warmup to 1 over `warmup` steps, then a cosine down to min_ratio at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def enc_tensor(t):
    dtype = str(t.dtype).replace('torch.', '')
    return {'shape': list(t.shape), 'dtype': dtype, 'data': [enc_scalar(v, dtype) for v in t.reshape(-1).tolist()]}


def train(model, data, starts):
    state = {k: enc_tensor(v.detach().clone()) for k, v in model.state_dict().items()}
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{'params': decay, 'weight_decay': WEIGHT_DECAY}, {'params': no_decay, 'weight_decay': 0.0}], lr=LR, betas=BETAS
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, WARMUP, STEPS, MIN_LR_RATIO))
    losses, lrs = [], []
    model.train()
    for step in range(STEPS):
        ix = torch.tensor(starts[step])
        x = torch.stack([data[i : i + BLOCK] for i in ix])
        y = torch.stack([data[i + 1 : i + 1 + BLOCK] for i in ix])
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
        losses.append(loss.item())
    return state, losses, lrs


def main():
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in TEXT], dtype=torch.int64)
    g = torch.Generator().manual_seed(1234)
    starts = torch.randint(len(TEXT) - BLOCK - 1, (STEPS, BATCH), generator=g).tolist()
    vocab = len(chars)
    models = []
    configs = [
        ('transformer', {'vocabSize': vocab, 'blockSize': BLOCK, 'dModel': 32, 'nLayer': 2, 'nHead': 4}),
        ('lstm', {'vocabSize': vocab, 'blockSize': BLOCK, 'dModel': 16, 'hidden': 32, 'nLayer': 2}),
    ]
    for name, c in configs:
        torch.manual_seed(0)
        if name == 'transformer':
            model = GPT(c['vocabSize'], c['blockSize'], c['dModel'], c['nLayer'], c['nHead'])
        else:
            model = LSTMLM(c['vocabSize'], c['dModel'], c['hidden'], c['nLayer'])
        state, losses, lrs = train(model, data, starts)
        models.append({'model': name, 'config': c, 'state': state, 'losses': losses, 'lrs': lrs})
        print(f'{name}: loss {losses[0]:.4f} -> {losses[-1]:.4f}')
    out = {
        'text': TEXT,
        'steps': STEPS,
        'batch_size': BATCH,
        'block_size': BLOCK,
        'lr': LR,
        'min_lr_ratio': MIN_LR_RATIO,
        'warmup': WARMUP,
        'weight_decay': WEIGHT_DECAY,
        'betas': list(BETAS),
        'grad_clip': GRAD_CLIP,
        'starts': starts,
        'models': models,
    }
    with open(OUT, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
