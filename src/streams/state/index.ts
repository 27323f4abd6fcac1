export { compareBytes, encodeTimestamped, prefixUpperBound, rawValueOf, timestampOf } from './bytes.ts'
export { InMemoryKeyValueStore } from './in-memory-store.ts'
export {
  type BytesKeyValueStore,
  type CachedStore,
  type CacheFlushListener,
  isCachedStore,
  type KeyValueIterator,
  type KeyValueStore,
  makeIterator,
  type ReadOnlyKeyValueStore,
  type TimestampedKeyValueStore,
} from './key-value-store.ts'
export {
  CachingKeyValueStore,
  ChangeLoggingKeyValueBytesStore,
  changelogTopicFor,
  MeteredKeyValueStore,
  TimestampedStoreFacade,
} from './layers.ts'
export { LMDB_MAX_KEY_BYTES, LmdbKeyValueStore, type LmdbStoreOptions } from './lmdb-store.ts'
export { type CacheEntry, type DirtyEntry, RecordCache } from './record-cache.ts'
export type {
  RecordContext,
  RestoreCallback,
  RestoreRecord,
  StateStore,
  StateStoreContext,
  StoreRegistration,
  WrappedStore,
} from './state-store.ts'
export {
  type BuildOptions,
  type KeyValueBytesStoreSupplier,
  KeyValueStoreBuilder,
  type StoreBuilder,
  Stores,
  validateStoreName,
} from './stores.ts'
export {
  isVersionedKeyValueStore,
  PUT_RETURN_CODE_NOT_PUT,
  PUT_RETURN_CODE_VALID_TO_UNDEFINED,
  type VersionedBytesStoreSupplier,
  type VersionedKeyValueStore,
  VersionedKeyValueStoreBuilder,
  type VersionedRecord,
} from './versioned-store.ts'
export {
  type ReadOnlySessionStore,
  type ReadOnlyWindowStore,
  type SessionBytesStoreSupplier,
  type SessionStore,
  SessionStoreBuilder,
  type TimestampedWindowStore,
  type WindowBytesStoreSupplier,
  type WindowStore,
  WindowStoreBuilder,
  type WindowStoreIterator,
} from './window-store.ts'
