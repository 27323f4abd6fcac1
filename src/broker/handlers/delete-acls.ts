import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { DeleteAclsRequest } from '../../protocol/generated/delete-acls-request.ts'
import type {
  DeleteAclsFilterResultInput,
  DeleteAclsResponseInput,
} from '../../protocol/generated/delete-acls-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'
import { AclOperation, filterMatches } from '../security/acl.ts'
import { clusterAuthorized } from '../security/authorize.ts'

export const deleteAclsHandler: HandlerSpec<DeleteAclsRequest, DeleteAclsResponseInput> = {
  apiKey: ApiKeys.DeleteAcls,
  minVersion: 0,
  maxVersion: 3,
  // Authorization: the handler checks the cluster permission this API needs.
  authorize: 'in-handler',
  async handle(req, ctx) {
    const each = (errorCode: number, errorMessage: string | null) => ({
      throttleTimeMs: 0,
      filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    })
    if (!ctx.services.authorizer) return each(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.')
    if (!clusterAuthorized(ctx, AclOperation.ALTER)) return each(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null)
    const acls = ctx.services.acls
    // Matches are computed against the set before any deletion, so one binding is reported by every filter it matches.
    const before = acls.acls().bindings
    const filterResults: DeleteAclsFilterResultInput[] = []
    const toDelete = new Set<(typeof before)[number]>()
    for (const f of req.filters) {
      const filter = {
        resourceType: f.resourceTypeFilter,
        resourceName: f.resourceNameFilter,
        patternType: f.patternTypeFilter,
        principal: f.principalFilter,
        host: f.hostFilter,
        operation: f.operation,
        permissionType: f.permissionType,
      }
      const matching = before.filter((b) => filterMatches(filter, b))
      for (const b of matching) toDelete.add(b)
      filterResults.push({
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        matchingAcls: matching.map((b) => ({ errorCode: ErrorCode.NONE, errorMessage: null, ...b })),
      })
    }
    for (const b of toDelete) await acls.removeAcl(b)
    return { throttleTimeMs: 0, filterResults }
  },
}
