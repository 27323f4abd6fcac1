/**
 * The answer to a request whose handler failed unexpectedly: Kafka's `getErrorResponse` for each API, i.e. the
 * response of the request's own shape and version with one error code on everything the request named. The
 * connection stays open, so one broken request costs the client that request only.
 *
 * Each builder mirrors where that API carries errors: per partition (Produce, OffsetCommit, ...), per resource
 * (DescribeConfigs, CreateTopics, ...) or at the top level (JoinGroup, EndTxn, ...), following the versions in which
 * each field exists (e.g. Fetch has a top-level error code from v7; OffsetFetch groups from v8).
 */
import { ApiKeys } from '../protocol/generated/api-table.ts'
import { ZERO_UUID } from '../protocol/primitives.ts'

// biome-ignore lint/suspicious/noExplicitAny: builders read the generated request types of many APIs
type Req = any
type Builder = (req: Req, version: number, errorCode: number, message: string) => unknown

const EMPTY = Buffer.alloc(0)

function perPartition<T>(
  topics: T[],
  name: (t: T) => string,
  partitions: (t: T) => number[],
  entry: (p: number) => unknown,
): { name: string; partitions: unknown[] }[] {
  return topics.map((t) => ({ name: name(t), partitions: partitions(t).map(entry) }))
}

const BUILDERS = new Map<number, Builder>([
  [
    ApiKeys.Produce,
    (req, _v, errorCode, message) => ({
      throttleTimeMs: 0,
      responses: req.topicData.map((t: Req) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p: Req) => ({
          index: p.index,
          errorCode,
          baseOffset: -1n,
          logAppendTimeMs: -1n,
          logStartOffset: -1n,
          recordErrors: [],
          errorMessage: message,
        })),
      })),
    }),
  ],
  [
    ApiKeys.Fetch,
    // From v13 the top-level code says it all and no partitions are returned (as Kafka); before, every partition
    // carries the code too (v4-6 have no top-level code). Records are an empty set, never null: librdkafka cannot
    // parse a null record set.
    (req, v, errorCode) => ({
      throttleTimeMs: 0,
      errorCode,
      sessionId: 0,
      responses:
        v >= 13
          ? []
          : req.topics.map((t: Req) => ({
              topic: t.topic,
              topicId: t.topicId,
              partitions: t.partitions.map((p: Req) => ({
                partitionIndex: p.partition,
                errorCode,
                highWatermark: -1n,
                lastStableOffset: -1n,
                logStartOffset: -1n,
                abortedTransactions: null,
                preferredReadReplica: -1,
                records: EMPTY,
              })),
            })),
    }),
  ],
  [
    ApiKeys.ListOffsets,
    (req, _v, errorCode) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t: Req) => ({
        name: t.name,
        partitions: t.partitions.map((p: Req) => ({
          partitionIndex: p.partitionIndex,
          errorCode,
          oldStyleOffsets: [],
          timestamp: -1n,
          offset: -1n,
          leaderEpoch: -1,
        })),
      })),
    }),
  ],
  [
    ApiKeys.Metadata,
    (req, _v, errorCode) => ({
      throttleTimeMs: 0,
      brokers: [],
      clusterId: null,
      controllerId: -1,
      topics: (req.topics ?? []).map((t: Req) => ({
        errorCode,
        name: t.name,
        topicId: t.topicId ?? ZERO_UUID,
        isInternal: false,
        partitions: [],
        topicAuthorizedOperations: -2147483648,
      })),
      clusterAuthorizedOperations: -2147483648,
    }),
  ],
  [
    ApiKeys.OffsetCommit,
    (req, _v, errorCode) => ({
      throttleTimeMs: 0,
      topics: perPartition(
        req.topics,
        (t: Req) => t.name,
        (t: Req) => t.partitions.map((p: Req) => p.partitionIndex),
        (partitionIndex) => ({ partitionIndex, errorCode }),
      ),
    }),
  ],
  [
    ApiKeys.OffsetFetch,
    (req, v, errorCode) => {
      const partition = (partitionIndex: number) => ({
        partitionIndex,
        committedOffset: -1n,
        committedLeaderEpoch: -1,
        metadata: '',
        errorCode,
      })
      if (v >= 8) {
        return {
          throttleTimeMs: 0,
          groups: req.groups.map((g: Req) => ({ groupId: g.groupId, topics: [], errorCode })),
        }
      }
      // v0-1 have no top-level code: the partitions carry it.
      return {
        throttleTimeMs: 0,
        errorCode,
        topics:
          v <= 1
            ? perPartition(
                req.topics ?? [],
                (t: Req) => t.name,
                (t: Req) => t.partitionIndexes,
                partition,
              )
            : [],
      }
    },
  ],
  [
    ApiKeys.FindCoordinator,
    (req, v, errorCode, message) =>
      v >= 4
        ? {
            throttleTimeMs: 0,
            coordinators: req.coordinatorKeys.map((key: string) => ({
              key,
              nodeId: -1,
              host: '',
              port: -1,
              errorCode,
              errorMessage: message,
            })),
          }
        : { throttleTimeMs: 0, errorCode, errorMessage: message, nodeId: -1, host: '', port: -1 },
  ],
  [
    ApiKeys.JoinGroup,
    (req, v, errorCode) => ({
      throttleTimeMs: 0,
      errorCode,
      generationId: -1,
      protocolType: null,
      // Nullable from v7 only.
      protocolName: v >= 7 ? null : '',
      leader: '',
      skipAssignment: false,
      memberId: req.memberId,
      members: [],
    }),
  ],
  [ApiKeys.Heartbeat, (_req, _v, errorCode) => ({ throttleTimeMs: 0, errorCode })],
  [
    ApiKeys.LeaveGroup,
    (req, _v, errorCode) => ({
      throttleTimeMs: 0,
      errorCode,
      members: req.members.map((m: Req) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode })),
    }),
  ],
  [
    ApiKeys.SyncGroup,
    (_req, _v, errorCode) => ({
      throttleTimeMs: 0,
      errorCode,
      protocolType: null,
      protocolName: null,
      assignment: EMPTY,
    }),
  ],
  [
    ApiKeys.DescribeGroups,
    (req, _v, errorCode) => ({
      throttleTimeMs: 0,
      groups: req.groups.map((groupId: string) => ({
        errorCode,
        groupId,
        groupState: '',
        protocolType: '',
        protocolData: '',
        members: [],
        authorizedOperations: -2147483648,
      })),
    }),
  ],
  [ApiKeys.ListGroups, (_req, _v, errorCode) => ({ throttleTimeMs: 0, errorCode, groups: [] })],
  [ApiKeys.ApiVersions, (_req, _v, errorCode) => ({ errorCode, apiKeys: [], throttleTimeMs: 0 })],
  [
    ApiKeys.CreateTopics,
    (req, _v, errorCode, message) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t: Req) => ({
        name: t.name,
        topicId: ZERO_UUID,
        errorCode,
        errorMessage: message,
        topicConfigErrorCode: errorCode,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
      })),
    }),
  ],
  [
    ApiKeys.DeleteTopics,
    (req, v, errorCode, message) => ({
      throttleTimeMs: 0,
      responses:
        v >= 6
          ? req.topics.map((t: Req) => ({ name: t.name, topicId: t.topicId, errorCode, errorMessage: message }))
          : req.topicNames.map((name: string) => ({ name, topicId: ZERO_UUID, errorCode, errorMessage: message })),
    }),
  ],
  [
    ApiKeys.DeleteRecords,
    (req, _v, errorCode) => ({
      throttleTimeMs: 0,
      topics: perPartition(
        req.topics,
        (t: Req) => t.name,
        (t: Req) => t.partitions.map((p: Req) => p.partitionIndex),
        (partitionIndex) => ({ partitionIndex, lowWatermark: -1n, errorCode }),
      ),
    }),
  ],
  [
    ApiKeys.InitProducerId,
    (_req, _v, errorCode) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 }),
  ],
  [
    ApiKeys.OffsetForLeaderEpoch,
    (req, _v, errorCode) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t: Req) => ({
        topic: t.topic,
        partitions: t.partitions.map((p: Req) => ({
          errorCode,
          partition: p.partition,
          leaderEpoch: -1,
          endOffset: -1n,
        })),
      })),
    }),
  ],
  [
    ApiKeys.DescribeConfigs,
    (req, _v, errorCode, message) => ({
      throttleTimeMs: 0,
      results: req.resources.map((r: Req) => ({
        errorCode,
        errorMessage: message,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: [],
      })),
    }),
  ],
  [ApiKeys.AlterConfigs, alterConfigsError],
  [ApiKeys.IncrementalAlterConfigs, alterConfigsError],
  [
    ApiKeys.CreatePartitions,
    (req, _v, errorCode, message) => ({
      throttleTimeMs: 0,
      results: req.topics.map((t: Req) => ({ name: t.name, errorCode, errorMessage: message })),
    }),
  ],
  [
    ApiKeys.DeleteGroups,
    (req, _v, errorCode) => ({
      throttleTimeMs: 0,
      results: req.groupsNames.map((groupId: string) => ({ groupId, errorCode })),
    }),
  ],
  [ApiKeys.OffsetDelete, (_req, _v, errorCode) => ({ errorCode, throttleTimeMs: 0, topics: [] })],
  [
    ApiKeys.DescribeCluster,
    (_req, _v, errorCode, message) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage: message,
      clusterId: '',
      controllerId: -1,
      brokers: [],
      clusterAuthorizedOperations: -2147483648,
    }),
  ],
  [
    ApiKeys.AddPartitionsToTxn,
    (req, v, errorCode) =>
      v >= 4
        ? { throttleTimeMs: 0, errorCode, resultsByTransaction: [] }
        : {
            throttleTimeMs: 0,
            resultsByTopicV3AndBelow: req.v3AndBelowTopics.map((t: Req) => ({
              name: t.name,
              resultsByPartition: t.partitions.map((partitionIndex: number) => ({
                partitionIndex,
                partitionErrorCode: errorCode,
              })),
            })),
          },
  ],
  [ApiKeys.AddOffsetsToTxn, (_req, _v, errorCode) => ({ throttleTimeMs: 0, errorCode })],
  [ApiKeys.EndTxn, (_req, _v, errorCode) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 })],
  [
    ApiKeys.TxnOffsetCommit,
    (req, _v, errorCode) => ({
      throttleTimeMs: 0,
      topics: perPartition(
        req.topics,
        (t: Req) => t.name,
        (t: Req) => t.partitions.map((p: Req) => p.partitionIndex),
        (partitionIndex) => ({ partitionIndex, errorCode }),
      ),
    }),
  ],
  [
    ApiKeys.DescribeTransactions,
    (req, _v, errorCode) => ({
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((transactionalId: string) => ({
        errorCode,
        transactionalId,
        transactionState: '',
        transactionTimeoutMs: 0,
        transactionStartTimeMs: -1n,
        producerId: -1n,
        producerEpoch: -1,
        topics: [],
      })),
    }),
  ],
  [
    ApiKeys.ListTransactions,
    (_req, _v, errorCode) => ({ throttleTimeMs: 0, errorCode, unknownStateFilters: [], transactionStates: [] }),
  ],
  [ApiKeys.SaslHandshake, (_req, _v, errorCode) => ({ errorCode, mechanisms: [] })],
  [
    ApiKeys.SaslAuthenticate,
    (_req, _v, errorCode, message) => ({ errorCode, errorMessage: message, authBytes: EMPTY, sessionLifetimeMs: 0n }),
  ],
  [
    ApiKeys.DescribeAcls,
    (_req, _v, errorCode, message) => ({ throttleTimeMs: 0, errorCode, errorMessage: message, resources: [] }),
  ],
  [
    ApiKeys.CreateAcls,
    (req, _v, errorCode, message) => ({
      throttleTimeMs: 0,
      results: req.creations.map(() => ({ errorCode, errorMessage: message })),
    }),
  ],
  [
    ApiKeys.DeleteAcls,
    (req, _v, errorCode, message) => ({
      throttleTimeMs: 0,
      filterResults: req.filters.map(() => ({ errorCode, errorMessage: message, matchingAcls: [] })),
    }),
  ],
  [
    ApiKeys.DescribeClientQuotas,
    (_req, _v, errorCode, message) => ({ throttleTimeMs: 0, errorCode, errorMessage: message, entries: null }),
  ],
  [
    ApiKeys.AlterClientQuotas,
    (req, _v, errorCode, message) => ({
      throttleTimeMs: 0,
      entries: req.entries.map((e: Req) => ({ errorCode, errorMessage: message, entity: e.entity })),
    }),
  ],
  [
    ApiKeys.DescribeUserScramCredentials,
    (_req, _v, errorCode, message) => ({ throttleTimeMs: 0, errorCode, errorMessage: message, results: [] }),
  ],
  [
    ApiKeys.AlterUserScramCredentials,
    (req, _v, errorCode, message) => {
      const users = new Set<string>([
        ...req.deletions.map((d: Req) => d.name),
        ...req.upsertions.map((u: Req) => u.name),
      ])
      return {
        throttleTimeMs: 0,
        results: [...users].map((user) => ({ user, errorCode, errorMessage: message })),
      }
    },
  ],
])

function alterConfigsError(req: Req, _v: number, errorCode: number, message: string): unknown {
  return {
    throttleTimeMs: 0,
    responses: req.resources.map((r: Req) => ({
      errorCode,
      errorMessage: message,
      resourceType: r.resourceType,
      resourceName: r.resourceName,
    })),
  }
}

/** API keys with an error response (a test checks that every served API has one). */
export function errorResponseApiKeys(): number[] {
  return [...BUILDERS.keys()]
}

/**
 * The response to `request` (API `apiKey`, `version`) that reports `errorCode` everywhere the request named
 * something, or undefined when this API has no builder.
 */
export function errorResponse(
  apiKey: number,
  version: number,
  request: unknown,
  errorCode: number,
  message: string,
): unknown {
  return BUILDERS.get(apiKey)?.(request, version, errorCode, message)
}
