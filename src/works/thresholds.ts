/**
 * Default match thresholds (maximum Hamming distance, inclusive) for the 64-bit codes; measured on
 * the generated corpus in test/works/image-corpus.test.ts, see spec/works.md for the figures.
 */
export const DEFAULT_MAX_DISTANCE = { phash: 12, tcode: 16 } as const;
