import { TributaryError, type TributaryErrorCode } from '../errors.ts'

/** The declared codes a RegistryError carries. */
export type RegistryErrorCode = Extract<TributaryErrorCode, 'TRB_REGISTRY' | `TRB_REGISTRY_${string}`>

/**
 * An error the REST API answers with. `errorCode` is Confluent's numeric code (40401, 42201, ...) that clients
 * switch on; `status` is the HTTP status it travels with.
 */
export class RegistryError extends TributaryError {
  declare readonly code: RegistryErrorCode
  readonly status: number
  readonly errorCode: number
  constructor(status: number, errorCode: number, message: string, code: RegistryErrorCode = 'TRB_REGISTRY') {
    super(code, message)
    this.status = status
    this.errorCode = errorCode
    this.name = 'RegistryError'
  }
}

export const subjectNotFound = (subject: string) =>
  new RegistryError(404, 40401, `Subject '${subject}' not found.`, 'TRB_REGISTRY_SUBJECT_NOT_FOUND')
export const versionNotFound = (subject: string, version: number | string) =>
  new RegistryError(
    404,
    40402,
    `Version ${version} not found for subject '${subject}'.`,
    'TRB_REGISTRY_VERSION_NOT_FOUND',
  )
export const schemaNotFound = (detail = 'Schema not found') =>
  new RegistryError(404, 40403, detail, 'TRB_REGISTRY_SCHEMA_NOT_FOUND')
export const subjectSoftDeleted = (subject: string) =>
  new RegistryError(
    404,
    40404,
    `Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`,
    'TRB_REGISTRY_SUBJECT_SOFT_DELETED',
  )
export const subjectNotSoftDeleted = (subject: string) =>
  new RegistryError(
    404,
    40405,
    `Subject '${subject}' was not deleted first before being permanently deleted`,
    'TRB_REGISTRY_SUBJECT_NOT_SOFT_DELETED',
  )
export const versionSoftDeleted = (subject: string, version: number) =>
  new RegistryError(
    404,
    40406,
    `Subject '${subject}' Version ${version} was soft deleted. Set permanent=true to delete permanently`,
    'TRB_REGISTRY_VERSION_SOFT_DELETED',
  )
export const versionNotSoftDeleted = (subject: string, version: number) =>
  new RegistryError(
    404,
    40407,
    `Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`,
    'TRB_REGISTRY_VERSION_NOT_SOFT_DELETED',
  )
export const subjectLevelCompatibilityNotConfigured = (subject: string) =>
  new RegistryError(
    404,
    40408,
    `Subject '${subject}' does not have subject-level compatibility configured`,
    'TRB_REGISTRY_CONFIG_NOT_FOUND',
  )
export const subjectLevelModeNotConfigured = (subject: string) =>
  new RegistryError(
    404,
    40409,
    `Subject '${subject}' does not have subject-level mode configured`,
    'TRB_REGISTRY_MODE_NOT_FOUND',
  )
export const invalidSchema = (detail: string) =>
  new RegistryError(422, 42201, `Invalid schema: ${detail}`, 'TRB_REGISTRY_INVALID_SCHEMA')
export const invalidVersion = (version: string) =>
  new RegistryError(
    422,
    42202,
    `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
    'TRB_REGISTRY_INVALID_VERSION',
  )
export const invalidCompatibilityLevel = (level: unknown) =>
  new RegistryError(
    422,
    42203,
    `Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive; got '${String(level)}'`,
    'TRB_REGISTRY_INVALID_COMPATIBILITY',
  )
export const invalidMode = (mode: unknown) =>
  new RegistryError(
    422,
    42204,
    `Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT; got '${String(mode)}'`,
    'TRB_REGISTRY_INVALID_MODE',
  )
export const operationNotPermitted = (detail: string) =>
  new RegistryError(422, 42205, detail, 'TRB_REGISTRY_OPERATION_NOT_PERMITTED')
export const referenceExists = (detail: string) =>
  new RegistryError(422, 42206, detail, 'TRB_REGISTRY_REFERENCE_EXISTS')
export const incompatibleSchema = (subject: string, messages: string[]) =>
  new RegistryError(
    409,
    409,
    `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${messages.join(', ')}]`,
    'TRB_REGISTRY_INCOMPATIBLE_SCHEMA',
  )
export const storeError = (detail: string) =>
  new RegistryError(500, 50001, `Error in the backend data store: ${detail}`, 'TRB_REGISTRY_STORE')
export const storeTimeout = (detail: string) =>
  new RegistryError(500, 50002, `Operation timed out: ${detail}`, 'TRB_REGISTRY_STORE_TIMEOUT')
