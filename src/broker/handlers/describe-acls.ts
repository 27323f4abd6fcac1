import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { DescribeAclsRequest } from '../../protocol/generated/describe-acls-request.ts'
import type {
  DescribeAclsResourceInput,
  DescribeAclsResponseInput,
} from '../../protocol/generated/describe-acls-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'
import { AclOperation, filterMatches } from '../security/acl.ts'
import { clusterAuthorized } from '../security/authorize.ts'

export const describeAclsHandler: HandlerSpec<DescribeAclsRequest, DescribeAclsResponseInput> = {
  apiKey: ApiKeys.DescribeAcls,
  minVersion: 0,
  maxVersion: 3,
  // Authorization: the handler checks the cluster permission this API needs.
  authorize: 'in-handler',
  handle(req, ctx) {
    const error = (errorCode: number, errorMessage: string | null) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      resources: [],
    })
    if (!ctx.services.authorizer) return error(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.')
    if (!clusterAuthorized(ctx, AclOperation.DESCRIBE)) return error(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null)
    const filter = {
      resourceType: req.resourceTypeFilter,
      resourceName: req.resourceNameFilter,
      patternType: req.patternTypeFilter,
      principal: req.principalFilter,
      host: req.hostFilter,
      operation: req.operation,
      permissionType: req.permissionType,
    }
    const byResource = new Map<
      string,
      DescribeAclsResourceInput & { acls: NonNullable<DescribeAclsResourceInput['acls']> }
    >()
    for (const b of ctx.services.acls.acls().bindings) {
      if (!filterMatches(filter, b)) continue
      const key = JSON.stringify([b.resourceType, b.resourceName, b.patternType])
      let r = byResource.get(key)
      if (!r) {
        r = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] }
        byResource.set(key, r)
      }
      r.acls.push({ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permissionType })
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: [...byResource.values()] }
  },
}
