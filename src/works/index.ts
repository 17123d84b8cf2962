/** Browser-safe part of the works module (no node:). The sharp wrapper is in node.ts. */
export * from './errors.js';
export * from './image-code.js';
export * from './text-code.js';
export * from './similarity.js';
export { xxh32 } from './xxh32.js';
export * from './thresholds.js';
