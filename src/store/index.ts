export type { LogStore, StoredTile, KeyValueSpace, StoreMemory } from './store.js';
export { StoreUnavailableError } from './errors.js';
export { LevelLogStore } from './level.js';
