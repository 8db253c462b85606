export {
  createStorage,
  ObjectNotFoundError,
  isStorageUnavailable,
  type Storage,
  type StorageOptions,
  type ObjectInfo,
} from './storage.js';
