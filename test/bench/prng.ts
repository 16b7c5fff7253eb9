// A tiny seeded pseudo-random generator: the benchmark's trees must be the same bytes in
// every run, on every machine, so nothing here reads Math.random or the clock.

/** Scrambles a 32-bit integer (an integer finalizer: every input bit affects every output bit). */
export function mix32(value: number): number {
  let x = value >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A seed for one item of a stream: `deriveSeed(runSeed, STREAM, index)`. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = mix32(seed ^ 0x9e3779b9);
  for (const part of parts) h = mix32(h ^ mix32(part + 0x632be5ab));
  return h;
}

export interface Rng {
  /** The next value in [0, 2^32). */
  nextU32(): number;
  /** The next value in [0, 1). */
  nextFloat(): number;
  /** The next integer in [min, max], both included. */
  nextInt(min: number, max: number): number;
}

/** xorshift32 (Marsaglia) over a scrambled seed; the state is never 0. */
export function createRng(seed: number): Rng {
  let state = mix32(seed) || 0x6d2b79f5;
  const nextU32 = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return {
    nextU32,
    nextFloat: () => nextU32() / 0x1_0000_0000,
    nextInt: (min, max) => min + Math.floor((nextU32() / 0x1_0000_0000) * (max - min + 1)),
  };
}

/** `size` pseudo-random bytes, a pure function of `seed` (little-endian words, as on every host we run on). */
export function randomBytes(seed: number, size: number): Buffer {
  const rng = createRng(seed);
  const words = new Uint32Array(Math.ceil(size / 4));
  for (let i = 0; i < words.length; i++) words[i] = rng.nextU32();
  return Buffer.from(words.buffer, 0, size);
}
