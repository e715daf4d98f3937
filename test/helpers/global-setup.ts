// vitest global setup: regenerate lib/backend/kernel_names.ts from
// native/common/ops.h (scripts/gen-kernel-names.cjs), so tests always see
// the kernel names of the sources, also right after ops.h changes.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['scripts/gen-kernel-names.cjs'], { stdio: 'inherit' });
}
