/** Small seeded PRNG (mulberry32) so a failing property run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/**
 * A random pattern of up to `maxLen` tokens from `alphabet`, with `*` and a final `>` mixed in.
 * @param starRate a token is `*` when its draw falls below this (after the `>` chance) @default 0.4
 */
export function randomPattern(random: () => number, alphabet: readonly string[], maxLen: number, starRate = 0.4): string {
  const len = 1 + Math.floor(random() * maxLen);
  const tokens: string[] = [];
  for (let i = 0; i < len; i++) {
    const r = random();
    if (i === len - 1 && r < 0.2) tokens.push('>');
    else if (r < starRate) tokens.push('*');
    else tokens.push(pick(random, alphabet));
  }
  return tokens.join('.');
}
