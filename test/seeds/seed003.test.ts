import { describe, expect, it } from 'vitest';
import { main } from '../../examples/seeds/seed003_autograd_ru.js';
import { collect } from './collect.js';

describe('seed 003 (Russian): gradients in PyTorch', () => {
  it('prints what each notebook cell prints', () => {
    const { print, lines } = collect();
    main(print);
    expect(lines).toEqual([
      'tensor(2., requires_grad=True)',
      'tensor(63., grad_fn=<AddBackward0>)',
      'tensor(93.)',
      'tensor([[1., 2., 3.],\n        [3., 2., 1.]], requires_grad=True)',
      'tensor([[ 5.,  8., 11.],\n        [11.,  8.,  5.]], grad_fn=<AddBackward0>)',
      'tensor([[ 50., 128., 242.],\n        [242., 128.,  50.]], grad_fn=<MulBackward0>)',
      'tensor(140., grad_fn=<MeanBackward0>)',
      'tensor([[10., 16., 22.],\n        [22., 16., 10.]])',
      'tensor([[ 5.,  8., 11.],\n        [11.,  8.,  5.]])',
    ]);
  });
});
