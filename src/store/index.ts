export type { LogStore, StoredTile, KeyValueSpace } from './store.js';
export { StoreUnavailableError } from './errors.js';
export { LevelLogStore } from './level.js';
