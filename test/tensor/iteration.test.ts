// A tensor iterates over its first dim, as PyTorch's (Tensor.__iter__: unbind(0)).
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';

const m = () =>
  torch.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);

describe('iteration', () => {
  it('for...of, spread and destructuring give the rows', () => {
    const rows: number[][] = [];
    for (const row of m()) rows.push(row.tolist() as number[]);
    expect(rows).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect([...m()].map((r) => r.shape)).toEqual([[3], [3]]);
    const [a, b] = m();
    expect(a.tolist()).toEqual([1, 2, 3]);
    expect(b.tolist()).toEqual([4, 5, 6]);
    expect(Array.from(torch.tensor([1.5, 2.5]), (x) => x.item())).toEqual([1.5, 2.5]);
    const it: Iterable<torch.Tensor> = m(); // Tensor implements Iterable<Tensor>
    expect([...it].length).toBe(2);
  });

  it('a 1-d tensor gives 0-d tensors; an empty first dim gives nothing', () => {
    const items = [...torch.tensor([7, 8])];
    expect(items.map((t) => t.dim())).toEqual([0, 0]);
    expect(items.map((t) => t.item())).toEqual([7, 8]);
    expect([...torch.zeros(0, 3)]).toEqual([]);
    expect([...torch.zeros(2, 0)].map((t) => t.shape)).toEqual([[0], [0]]);
  });

  it('refuses a 0-d tensor as PyTorch does', () => {
    expect(() => [...torch.tensor(1.5)]).toThrow(TypeError);
    expect(() => [...torch.tensor(1.5)]).toThrow('iteration over a 0-d tensor');
    expect(() => {
      for (const x of torch.tensor(3)) void x;
    }).toThrow('iteration over a 0-d tensor');
  });

  it('the rows are views of the tensor', () => {
    const t = m();
    const [a] = t;
    a.fill_(9);
    expect(t.tolist()).toEqual([
      [9, 9, 9],
      [4, 5, 6],
    ]);
    // Over a non-contiguous tensor too.
    const tt = m().t();
    expect([...tt].map((r) => r.tolist())).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
  });

  it('rows carry the graph, as unbind', () => {
    const w = torch.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'float32', requiresGrad: true },
    );
    const rows = [...w.mul(2)];
    // unbind's rows: PyTorch names their node UnbindBackward0; Kindling's unbind records selects.
    expect(rows[0].gradFn).not.toBeNull();
    expect(() => rows[0].add_(1)).toThrow(/UnbindBackward0/);
    rows[0].sum().add(rows[1].mul(3).sum()).backward();
    expect(w.grad!.tolist()).toEqual([
      [2, 2],
      [6, 6],
    ]);
  });
});
