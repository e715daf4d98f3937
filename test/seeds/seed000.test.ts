import { describe, expect, it } from 'vitest';
import { readFileSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../examples/seeds/seed000_linear_uz.js';
import { collect } from './collect.js';

// What PyTorch prints for the same code and data (scripts/make_seed_fixtures.py).
const fx = JSON.parse(readFileSync(new URL('../fixtures/seed000.json', import.meta.url), 'utf8'));

describe('seed 000 (Uzbek): autograd on a linear model', () => {
  it('prints the gradient, the training log and the fit as PyTorch does, and writes the plot', () => {
    const { print, lines } = collect();
    const dir = mkdtempSync(join(tmpdir(), 'kindling-seed000-'));
    const plot = join(dir, 'fit.png');
    main(print, plot);
    expect(lines[0]).toBe('true');
    expect(lines[1]).toBe(fx.first_grad_str);
    expect(lines.slice(2, 12)).toEqual(fx.logs);
    expect(lines[12]).toBe(fx.yy_str);
    const png = readFileSync(plot);
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect(statSync(plot).size).toBeGreaterThan(1000);
  });
});
