// Captures what a seed port prints, joined as console.log would.
export function collect(): { print: (...a: unknown[]) => void; lines: string[] } {
  const lines: string[] = [];
  return { lines, print: (...a: unknown[]) => lines.push(a.map((v) => (typeof v === 'string' ? v : String(v))).join(' ')) };
}
