"""Writes test/fixtures/data.json: what PyTorch 1.13's torch.utils.data gives
where no random stream is involved (SequentialSampler, BatchSampler, Subset,
ConcatDataset, random_split's lengths, a DataLoader's batches with a sampler
or batch_sampler), and torchvision's ToTensor / Normalize /
ConvertImageDtype arithmetic redone with torch ops (torchvision is not
installed; the steps are torchvision 0.14's), for test/data/*.test.ts.
Run with /usr/bin/python3 (Debian's python3-torch)."""
import json
import os

import torch
from torch.utils.data import (BatchSampler, ConcatDataset, DataLoader, SequentialSampler, Subset,
                              random_split)

out = {}

out['batchSampler'] = [
    {'source': list(src) if not isinstance(src, int) else src, 'batchSize': bs, 'dropLast': dl,
     'batches': list(BatchSampler(SequentialSampler(range(src)) if isinstance(src, int) else src, bs, dl)),
     'length': len(BatchSampler(SequentialSampler(range(src)) if isinstance(src, int) else src, bs, dl))}
    for src, bs, dl in [(10, 3, False), (10, 3, True), (9, 3, False), (9, 3, True), (2, 5, False), (2, 5, True),
                        (0, 4, False), (1, 1, True), ([5, 3, 9, 1, 7], 2, False), ([5, 3, 9, 1, 7], 2, True)]
]

sizes = [3, 2, 0, 4]
c = ConcatDataset([range(10 * k, 10 * k + n) for k, n in enumerate(sizes)])
out['concat'] = {'sizes': sizes, 'cumulativeSizes': c.cumulative_sizes,
                 'items': {str(i): c[i] for i in range(-len(c), len(c))}}

base = list(range(100, 110))
s = Subset(base, [5, 2, 7, 2, 0])
out['subset'] = {'base': base, 'indices': [5, 2, 7, 2, 0], 'items': {str(i): s[i] for i in range(-len(s), len(s))}}

split_cases = []
for n, lengths in [(10, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.1, 0.1, 0.8]), (5, [1.0]), (3, [0.5, 0.25, 0.25]),
                   (10, [3, 7]), (1, [1]), (5, [1]), (10, [0.1] * 10), (4, [0.0, 1.0]), (13, [0.7, 0.2, 0.1])]:
    parts = random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    split_cases.append({'n': n, 'lengths': lengths, 'sizes': [len(p) for p in parts]})
out['randomSplit'] = split_cases

loader_cases = []
for kw in [dict(batch_size=2, sampler=[9, 1, 1, 4, 0]), dict(batch_size=2, sampler=[9, 1, 1, 4, 0], drop_last=True),
           dict(batch_sampler=[[0, 3], [5], [9, 8, 7]]), dict(batch_size=4, sampler=SequentialSampler(range(10))),
           dict(batch_size=1, batch_sampler=BatchSampler([3, 2, 1, 0, 6], 2, False))]:
    dl = DataLoader(range(10), **kw)
    desc = {k: (v if isinstance(v, (int, bool, list)) else None) for k, v in kw.items()}
    if isinstance(kw.get('batch_sampler'), BatchSampler):
        desc['batch_sampler'] = {'sampler': [3, 2, 1, 0, 6], 'batchSize': 2, 'dropLast': False}
    if isinstance(kw.get('sampler'), SequentialSampler):
        desc['sampler'] = 'sequential'
    loader_cases.append({'options': desc, 'length': len(dl), 'batches': [b.tolist() for b in dl]})
out['loader'] = loader_cases

# torchvision 0.14 ToTensor on an ndarray: HxW gets a channel axis, HxWxC is
# transposed to CxHxW, and a byte image becomes float32 divided by 255.
g = torch.Generator().manual_seed(3)
img_hw = torch.randint(0, 256, (3, 4), generator=g, dtype=torch.uint8)
img_hwc = torch.randint(0, 256, (2, 3, 3), generator=g, dtype=torch.uint8)
t_hw = img_hw[None].contiguous().to(torch.float32).div(255)
t_hwc = img_hwc.permute(2, 0, 1).contiguous().to(torch.float32).div(255)
all_bytes = torch.arange(256, dtype=torch.uint8).reshape(16, 16)
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
norm = (t_hwc - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1)
mn = (all_bytes[None].to(torch.float32).div(255) - torch.tensor([0.1307]).view(-1, 1, 1)) / torch.tensor([0.3081]).view(-1, 1, 1)
f = torch.linspace(0, 1, 11)
out['transforms'] = {
    'hw': {'bytes': img_hw.flatten().tolist(), 'shape': [3, 4], 'toTensor': t_hw.flatten().tolist()},
    'hwc': {'bytes': img_hwc.flatten().tolist(), 'shape': [2, 3, 3], 'toTensor': t_hwc.flatten().tolist(),
            'mean': mean, 'std': std, 'normalized': norm.flatten().tolist()},
    'mnistNormalized': mn.flatten().tolist(),
    # convert_image_dtype: float -> uint8 multiplies by 255 + 1 - 1e-3 then truncates; uint8 -> float divides by 255.
    'floatToUint8': {'input': f.tolist(), 'output': f.mul(255 + 1.0 - 1e-3).to(torch.uint8).tolist()},
    'uint8ToFloat64': all_bytes.flatten().to(torch.float64).div(255).tolist(),
}

path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'data.json')
with open(path, 'w') as fh:
    json.dump(out, fh, indent=1)
    fh.write('\n')
print('wrote', os.path.normpath(path))
