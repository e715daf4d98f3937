import { describe, expect, it } from 'vitest';
import { main } from '../../examples/seeds/seed001_training_uz.js';
import { collect } from './collect.js';

// The slides' "3-dars (python)" output, exact per step.
const GRADS = [
  ['-2.000', '-7.840', '-16.229'],
  ['-1.479', '-5.796', '-11.998'],
  ['-1.093', '-4.285', '-8.870'],
  ['-0.808', '-3.168', '-6.558'],
  ['-0.598', '-2.342', '-4.848'],
  ['-0.442', '-1.732', '-3.584'],
  ['-0.327', '-1.280', '-2.650'],
  ['-0.241', '-0.946', '-1.959'],
  ['-0.179', '-0.700', '-1.448'],
  ['-0.132', '-0.517', '-1.071'],
];
const LOSSES = [
  '7.315943717956543',
  '3.9987640380859375',
  '2.1856532096862793',
  '1.1946394443511963',
  '0.6529689431190491',
  '0.35690122842788696',
  '0.195076122879982',
  '0.10662525147199631',
  '0.0582793727517128',
  '0.03185431286692619',
];

describe('seed 001 (Uzbek): training loop with w.data updates', () => {
  it('prints the slides gradients and losses exactly', () => {
    const { print, lines } = collect();
    main(print);
    const expected: string[] = ["Bashorat (training dan avval) 4 soat o'qilganda: tensor([4.], grad_fn=<MulBackward0>)"];
    GRADS.forEach((g, epoch) => {
      expected.push(`\tgrad:  1.0 2.0 ${g[0]}`, `\tgrad:  2.0 4.0 ${g[1]}`, `\tgrad:  3.0 6.0 ${g[2]}`);
      expected.push(`Epoch: ${epoch} | Loss: ${LOSSES[epoch]}`);
    });
    expected.push("Bashorat (training dan keyin) 4 soat o'qilganda: tensor([7.8049], grad_fn=<MulBackward0>)");
    expect(lines).toEqual(expected);
  });
});
