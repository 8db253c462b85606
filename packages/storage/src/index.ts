export {
  createStorage,
  ObjectNotFoundError,
  type Storage,
  type StorageOptions,
  type ObjectInfo,
} from './storage.js';
