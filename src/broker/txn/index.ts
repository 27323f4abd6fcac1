/** Transactions (KIP-98, KIP-447): the transaction coordinator and its durable state. */
export type {
  DescribedTransaction,
  InitProducerIdParams,
  ProducerIdAndEpoch,
  TransactionCoordinatorOptions,
  TxnGroupOffsets,
  TxnIdentity,
} from './transaction-coordinator.ts'
export { fencingErrorFor, TransactionCoordinator } from './transaction-coordinator.ts'
export type { TransactionRecord, TransactionState, TxnOffset } from './transaction-state.ts'
export { TRANSACTION_STATES } from './transaction-state.ts'
