/**
 * What every module shares (`tributary/common`): time (Clock, Timers, ManualTime for tests) and the KeyedLog, a
 * keyed log replayed into state, and the coded errors. Nothing here knows the Kafka protocol, the log or the
 * broker.
 */
export { type ErrorDescription, errorCodes, TributaryError, type TributaryErrorCode } from '../errors.ts'
export {
  InMemoryKeyedLog,
  type KeyedLog,
  type KeyedRecord,
  type LoggedRecord,
  type ReplayOptions,
} from './keyed-log.ts'
export { type Clock, ManualTime, systemClock, systemTimers, type TimerHandle, type Timers } from './time.ts'
