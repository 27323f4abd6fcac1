import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { OffsetFetchRequest } from '../../protocol/generated/offset-fetch-request.ts'
import type { OffsetFetchResponseInput } from '../../protocol/generated/offset-fetch-response.ts'
import type { HandlerSpec } from '../handler.ts'

export const offsetFetchHandler: HandlerSpec<OffsetFetchRequest, OffsetFetchResponseInput> = {
  apiKey: 9,
  minVersion: 0,
  maxVersion: 9,
  handle(req, ctx) {
    const v = ctx.apiVersion
    const groups = ctx.services.groups
    if (v >= 8) {
      return {
        groups: req.groups.map((g) => {
          const r = groups.fetchOffsets(g.groupId, g.topics, req.requireStable)
          return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics }
        }),
      }
    }
    // v0 and v1 cannot send null topics (all offsets); v2+ can.
    const r = groups.fetchOffsets(req.groupId, v >= 2 ? req.topics : (req.topics ?? []), v >= 7 && req.requireStable)
    if (v >= 2) return { errorCode: r.errorCode, topics: r.topics }
    // v0–v1 have no top-level error: a group-level error goes on every requested partition.
    if (r.errorCode === ErrorCode.NONE) return { topics: r.topics }
    return {
      topics: (req.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({
          partitionIndex,
          committedOffset: -1n,
          committedLeaderEpoch: -1,
          metadata: '',
          errorCode: r.errorCode,
        })),
      })),
    }
  },
}
