import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { DescribeUserScramCredentialsRequest } from '../../protocol/generated/describe-user-scram-credentials-request.ts'
import type {
  DescribeUserScramCredentialsResponseInput,
  DescribeUserScramCredentialsResultInput,
} from '../../protocol/generated/describe-user-scram-credentials-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { clusterAuthorized } from '../security/authorize.ts'
import { SCRAM_MECHANISM_CODES } from '../security/scram.ts'

export const describeUserScramCredentialsHandler: HandlerSpec<
  DescribeUserScramCredentialsRequest,
  DescribeUserScramCredentialsResponseInput
> = {
  apiKey: ApiKeys.DescribeUserScramCredentials,
  minVersion: 0,
  maxVersion: 0,
  // Authorization: the handler checks the cluster permission this API needs.
  authorize: 'in-handler',
  handle(req, ctx) {
    if (!clusterAuthorized(ctx, AclOperation.DESCRIBE)) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: null,
        results: [],
      }
    }
    const users = ctx.services.scram.scramUsers()
    const describe = (user: string): DescribeUserScramCredentialsResultInput => {
      const creds = users.get(user)
      if (!creds) {
        return {
          user,
          errorCode: ErrorCode.RESOURCE_NOT_FOUND,
          errorMessage: `Attempt to describe a user credential that does not exist: ${user}`,
          credentialInfos: [],
        }
      }
      return {
        user,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        credentialInfos: creds.map((c) => ({
          mechanism: SCRAM_MECHANISM_CODES[c.mechanism],
          iterations: c.iterations,
        })),
      }
    }
    if (req.users === null || req.users.length === 0) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        results: [...users.keys()].sort().map(describe),
      }
    }
    const names = req.users.map((u) => u.name)
    const duplicates = new Set(names.filter((n, i) => names.indexOf(n) !== i))
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      results: [...new Set(names)].map((user) =>
        duplicates.has(user)
          ? {
              user,
              errorCode: ErrorCode.DUPLICATE_RESOURCE,
              errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request',
              credentialInfos: [],
            }
          : describe(user),
      ),
    }
  },
}
