"""Writes test/fixtures/distributed_sampler.json: the indices PyTorch 1.13's
torch.utils.data.DistributedSampler gives each rank (shuffled or not, with
padding or dropLast, over several epochs and seeds), and torch.randperm with
a seeded torch.Generator, for test/data/distributed_sampler.test.ts.
Run with /usr/bin/python3 (Debian's python3-torch)."""
import json
import os

import torch
from torch.utils.data import DistributedSampler

out = {}

def perm_case(n, seed):
    p = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    # Long permutations keep a head and a position-weighted checksum.
    if n > 3000:
        return {'n': n, 'seed': seed, 'head': p[:100], 'weighted': sum(i * v for i, v in enumerate(p)) % 1000000007}
    return {'n': n, 'seed': seed, 'perm': p}


out['randperm'] = [perm_case(n, seed) for n, seed in [(0, 0), (1, 0), (2, 0), (10, 0), (17, 5), (100, 3), (1000, 12345), (5, 2**33 + 7),
                                   (3000, 2**31 + 1), (70000, 42)]]

cases = []
for n, reps, shuffle, seed, drop_last, epochs in [(10, 2, True, 0, False, [0, 1, 2]), (11, 4, True, 0, False, [0, 3]),
                                                  (11, 4, True, 0, True, [0, 3]), (11, 4, False, 0, False, [0]),
                                                  (11, 4, False, 0, True, [0]), (3, 8, True, 7, False, [0, 1]),
                                                  (3, 8, False, 0, False, [0]), (100, 3, True, 1234, False, [0, 5]),
                                                  (100, 3, True, 1234, True, [0, 5]), (0, 2, True, 0, False, [0]),
                                                  (1, 1, True, 0, False, [0]), (60000, 4, True, 0, False, [0])]:
    per_rank = []
    for rank in range(reps):
        s = DistributedSampler(range(n), num_replicas=reps, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
        epochs_out = []
        for e in epochs:
            s.set_epoch(e)
            idx = list(s)
            # The big case keeps only a head and a sum, to keep the file small.
            epochs_out.append({'epoch': e, 'indices': idx if n < 1000 else idx[:50], 'sum': sum(idx), 'count': len(idx)})
        per_rank.append({'rank': rank, 'length': len(s), 'epochs': epochs_out})
    cases.append({'n': n, 'numReplicas': reps, 'shuffle': shuffle, 'seed': seed, 'dropLast': drop_last, 'ranks': per_rank})
out['sampler'] = cases

path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'distributed_sampler.json')
with open(path, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
print('wrote', path)
