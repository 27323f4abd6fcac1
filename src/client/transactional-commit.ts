/**
 * Commits consumed offsets inside a producer's transaction for a group this process manages itself (Kafka's
 * `sendOffsetsToTransaction(offsets, groupMetadata)`, KIP-447): AddOffsetsToTxn through the producer, then one
 * TxnOffsetCommit for all partitions, carrying the group's generation and member id so that the coordinator
 * refuses a zombie (a member whose partitions were reassigned) instead of letting it commit.
 * @platformatic/kafka's `Transaction.addOffset` takes one consumed message of its own Consumer per request; the
 * streams runtime commits many partitions of its own group member at once.
 */
import type { Consumer, Producer } from '@platformatic/kafka'
import { TributaryError } from '../errors.ts'
import { GroupFencedError, type GroupGeneration, type PartitionOffset } from './group-member.ts'
import {
  COORDINATOR_ERRORS,
  describeKafkaError,
  hasKafkaError,
  isNetworkError,
  type KafkaCluster,
} from './kafka-cluster.ts'

/** The producer was fenced by a newer instance with the same transactional id (or its epoch expired). */
export class ProducerFencedError extends TributaryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRB_CLIENT_PRODUCER_FENCED', message, options)
    this.name = 'ProducerFencedError'
  }
}

/** A producer's open transaction (@platformatic/kafka does not export the class from its entry point). */
export type Transaction = NonNullable<Producer<Buffer, Buffer, Buffer, Buffer>['transaction']>

export const PRODUCER_FENCING_ERRORS = [
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'INVALID_PRODUCER_ID_MAPPING',
]

export async function sendOffsetsToTransaction(options: {
  readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>
  readonly transaction: Transaction
  /** Where the group coordinator is looked up (the group member's cluster). */
  readonly cluster: KafkaCluster
  readonly group: GroupGeneration
  readonly offsets: readonly PartitionOffset[]
}): Promise<void> {
  const { producer, transaction, cluster, group, offsets } = options
  if (offsets.length === 0) return
  const transactionalId = transaction.id
  if (!transactionalId || producer.producerId === undefined || producer.producerEpoch === undefined) {
    throw new TributaryError('TRB_CLIENT_NOT_TRANSACTIONAL', 'offsets can only be sent in a transactional producer')
  }
  try {
    await transaction.addConsumer({ groupId: group.groupId } as unknown as Consumer<Buffer, Buffer, Buffer, Buffer>)
  } catch (error) {
    if (hasKafkaError(error, ...PRODUCER_FENCING_ERRORS)) {
      throw new ProducerFencedError(`transactional id ${transactionalId} was fenced: ${describeKafkaError(error)}`, {
        cause: error,
      })
    }
    throw error
  }
  const topics = new Map<
    string,
    {
      name: string
      partitions: Array<{
        partitionIndex: number
        committedOffset: bigint
        committedLeaderEpoch: number
        committedMetadata: string | null
      }>
    }
  >()
  for (const o of offsets) {
    let t = topics.get(o.topic)
    if (!t) {
      t = { name: o.topic, partitions: [] }
      topics.set(o.topic, t)
    }
    t.partitions.push({
      partitionIndex: o.partition,
      committedOffset: o.offset,
      committedLeaderEpoch: -1,
      committedMetadata: o.metadata ?? null,
    })
  }
  for (let attempt = 1; ; attempt++) {
    try {
      const connection = await cluster.coordinator(0, group.groupId)
      await cluster.call(
        connection,
        'TxnOffsetCommit',
        transactionalId,
        group.groupId,
        producer.producerId,
        producer.producerEpoch,
        group.generationId,
        group.memberId,
        group.groupInstanceId,
        [...topics.values()],
      )
      return
    } catch (error) {
      if (hasKafkaError(error, 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID')) {
        throw new GroupFencedError(
          `transactional offset commit of group ${group.groupId} refused (generation ${group.generationId} is over): ${describeKafkaError(error)}`,
          { cause: error },
        )
      }
      if (hasKafkaError(error, ...PRODUCER_FENCING_ERRORS)) {
        throw new ProducerFencedError(`transactional id ${transactionalId} was fenced: ${describeKafkaError(error)}`, {
          cause: error,
        })
      }
      const retriable =
        hasKafkaError(error, ...COORDINATOR_ERRORS, 'CONCURRENT_TRANSACTIONS', 'UNKNOWN_TOPIC_OR_PARTITION') ||
        isNetworkError(error)
      if (retriable && attempt < 30) {
        if (hasKafkaError(error, ...COORDINATOR_ERRORS)) cluster.forgetCoordinator(0, group.groupId)
        await new Promise((r) => setTimeout(r, Math.min(20 * attempt, 500)))
        continue
      }
      throw new TributaryError(
        'TRB_CLIENT_COMMIT_FAILED',
        `transactional offset commit of group ${group.groupId} failed: ${describeKafkaError(error)}`,
        { cause: error },
      )
    }
  }
}
