import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { CreateAclsRequest } from '../../protocol/generated/create-acls-request.ts'
import type { CreateAclsResponseInput } from '../../protocol/generated/create-acls-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'
import { type AclBinding, AclOperation, bindingProblem } from '../security/acl.ts'
import { clusterAuthorized } from '../security/authorize.ts'

export const createAclsHandler: HandlerSpec<CreateAclsRequest, CreateAclsResponseInput> = {
  apiKey: ApiKeys.CreateAcls,
  minVersion: 0,
  maxVersion: 3,
  // Authorization: the handler checks the cluster permission this API needs.
  authorize: 'in-handler',
  async handle(req, ctx) {
    const each = (errorCode: number, errorMessage: string | null) => ({
      throttleTimeMs: 0,
      results: req.creations.map(() => ({ errorCode, errorMessage })),
    })
    if (!ctx.services.authorizer) return each(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.')
    if (!clusterAuthorized(ctx, AclOperation.ALTER)) return each(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null)
    const results = []
    for (const c of req.creations) {
      const binding: AclBinding = {
        resourceType: c.resourceType,
        resourceName: c.resourceName,
        patternType: c.resourcePatternType,
        principal: c.principal,
        host: c.host,
        operation: c.operation,
        permissionType: c.permissionType,
      }
      const problem = bindingProblem(binding)
      if (problem) {
        results.push({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem })
        continue
      }
      await ctx.services.acls.addAcl(binding)
      results.push({ errorCode: ErrorCode.NONE, errorMessage: null })
    }
    return { throttleTimeMs: 0, results }
  },
}
