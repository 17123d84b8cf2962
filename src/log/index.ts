export { Log, LogError, type LogOptions, type AppendResult, type SignedCheckpoint, type IntegrationRound } from './log.js';
export { TileBuilder, TileTreeReader, type TileLoader } from './tiled-tree.js';
export { encodeBundle, decodeBundle, MAX_ENTRY_SIZE } from './bundle.js';
export { type Integrator, type IntegrationInput, type IntegrationOutput, integrateSync, inThreadIntegrator } from './integrator.js';
export { Lru } from './lru.js';
