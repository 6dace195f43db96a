// Seeded PRNG (sfc32, seeded through splitmix32) for deterministic dataset generation.
// Never use Math.random or Date.now in the generator: same seed must give the same bytes.

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const sm = splitmix32(seed);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    for (let i = 0; i < 15; i++) this.u32();
  }

  /** Uniform unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Index drawn according to the given (non-normalised) weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** Lower-case RFC 4122 version-4 UUID built from the PRNG stream. */
  uuid(): string {
    const w0 = this.u32();
    const w1 = this.u32();
    const w2 = (this.u32() & 0x3fffffff) | 0x80000000; // variant 10xx
    const w3 = this.u32();
    const b = [
      w0 >>> 24,
      (w0 >>> 16) & 255,
      (w0 >>> 8) & 255,
      w0 & 255,
      w1 >>> 24,
      (w1 >>> 16) & 255,
      ((w1 >>> 8) & 0x0f) | 0x40,
      w1 & 255,
      w2 >>> 24,
      (w2 >>> 16) & 255,
      (w2 >>> 8) & 255,
      w2 & 255,
      w3 >>> 24,
      (w3 >>> 16) & 255,
      (w3 >>> 8) & 255,
      w3 & 255,
    ].map((x) => HEX[x >>> 0] as string);
    return (
      b.slice(0, 4).join('') +
      '-' +
      b.slice(4, 6).join('') +
      '-' +
      b.slice(6, 8).join('') +
      '-' +
      b.slice(8, 10).join('') +
      '-' +
      b.slice(10, 16).join('')
    );
  }
}
