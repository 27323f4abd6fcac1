import { ApiKeys } from '../../protocol/generated/api-table.ts'
import type { ApiVersionsRequest } from '../../protocol/generated/api-versions-request.ts'
import type { ApiVersionsResponseInput } from '../../protocol/generated/api-versions-response.ts'
import { ErrorCode } from '../../protocol/generated/error-codes.ts'
import type { HandlerSpec } from '../handler.ts'

const SOFTWARE_FIELD = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/

export const apiVersionsHandler: HandlerSpec<ApiVersionsRequest, ApiVersionsResponseInput> = {
  apiKey: ApiKeys.ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  // Authorization: every client may ask which versions the broker speaks.
  authorize: 'in-handler',
  handle(req, ctx) {
    const apiKeys = ctx.services.supportedApis()
    // KIP-511: v3+ clients name their software; malformed names are rejected as Kafka does.
    if (
      ctx.apiVersion >= 3 &&
      (!SOFTWARE_FIELD.test(req.clientSoftwareName) || !SOFTWARE_FIELD.test(req.clientSoftwareVersion))
    ) {
      return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys }
    }
    return { errorCode: ErrorCode.NONE, apiKeys, throttleTimeMs: 0 }
  },
}
