import type { AlterUserScramCredentialsRequest } from '../../protocol/generated/alter-user-scram-credentials-request.ts'
import type {
  AlterUserScramCredentialsResponseInput,
  AlterUserScramCredentialsResultInput,
} from '../../protocol/generated/alter-user-scram-credentials-response.ts'
import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'
import { AclOperation } from '../security/acl.ts'
import { clusterAuthorized } from '../security/authorize.ts'
import {
  credentialFromSaltedPassword,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  mechanismFromCode,
  type ScramMechanism,
} from '../security/scram.ts'

/** Kafka's AlterUserScramCredentials: the client salts the password; the broker derives and stores the keys. */
export const alterUserScramCredentialsHandler: HandlerSpec<
  AlterUserScramCredentialsRequest,
  AlterUserScramCredentialsResponseInput
> = {
  apiKey: ApiKeys.AlterUserScramCredentials,
  minVersion: 0,
  maxVersion: 0,
  // Authorization: the handler checks the cluster permission this API needs.
  authorize: 'in-handler',
  async handle(req, ctx) {
    const users = [...new Set([...req.deletions.map((d) => d.name), ...req.upsertions.map((u) => u.name)])]
    if (!clusterAuthorized(ctx, AclOperation.ALTER)) {
      return {
        throttleTimeMs: 0,
        results: users.map((user) => ({
          user,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: null,
        })),
      }
    }
    const errors = new Map<string, { errorCode: number; errorMessage: string }>()
    const fail = (user: string, errorCode: number, errorMessage: string) => {
      if (!errors.has(user)) errors.set(user, { errorCode, errorMessage })
    }
    const seen = new Set<string>()
    const scram = ctx.services.scram
    for (const d of req.deletions) {
      const m = mechanismFromCode(d.mechanism)
      if (!d.name) fail(d.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty')
      else if (!m) fail(d.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism')
      else if (seen.has(`${d.name}\0${m}`))
        fail(d.name, ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request')
      else if (!scram.scramCredential(d.name, m)) {
        fail(d.name, ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist')
      }
      if (m) seen.add(`${d.name}\0${m}`)
    }
    for (const u of req.upsertions) {
      const m = mechanismFromCode(u.mechanism)
      if (!u.name) fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty')
      else if (!m) fail(u.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism')
      else if (seen.has(`${u.name}\0${m}`))
        fail(u.name, ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request')
      else if (u.iterations < MIN_ITERATIONS) {
        fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too few iterations (minimum ${MIN_ITERATIONS})`)
      } else if (u.iterations > MAX_ITERATIONS) {
        fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too many iterations (maximum ${MAX_ITERATIONS})`)
      } else if (u.salt.length === 0 || u.saltedPassword.length === 0) {
        fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Salt and salted password must not be empty')
      }
      if (m) seen.add(`${u.name}\0${m}`)
    }
    // A user's changes apply all together or not at all, as in Kafka.
    for (const d of req.deletions) {
      if (errors.has(d.name)) continue
      await scram.setScramCredential(d.name, mechanismFromCode(d.mechanism) as ScramMechanism, null)
    }
    for (const u of req.upsertions) {
      if (errors.has(u.name)) continue
      const m = mechanismFromCode(u.mechanism) as ScramMechanism
      await scram.setScramCredential(u.name, m, credentialFromSaltedPassword(m, u.salt, u.iterations, u.saltedPassword))
    }
    const results: AlterUserScramCredentialsResultInput[] = users.map((user) => {
      const e = errors.get(user)
      return { user, errorCode: e?.errorCode ?? ErrorCode.NONE, errorMessage: e?.errorMessage ?? null }
    })
    return { throttleTimeMs: 0, results }
  },
}
