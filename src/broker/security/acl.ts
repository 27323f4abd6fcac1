/**
 * Kafka's authorization model: ACL bindings (resource pattern + principal, host, operation, permission), matched
 * LITERAL, PREFIXED or by the `*` wildcard, DENY winning over ALLOW, implied DESCRIBE (and DESCRIBE_CONFIGS), super
 * users and `allow.everyone.if.no.acl.found`. The codes are Kafka's wire values.
 */
export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const

export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const

export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const

export const CLUSTER_RESOURCE = 'kafka-cluster'
export const WILDCARD = '*'

export interface AclBinding {
  resourceType: number
  resourceName: string
  patternType: number
  principal: string
  host: string
  operation: number
  permissionType: number
}

export interface AclFilter {
  resourceType: number
  resourceName: string | null
  patternType: number
  principal: string | null
  host: string | null
  operation: number
  permissionType: number
}

export function nameOf(table: Record<string, number>, code: number): string {
  return Object.entries(table).find(([, v]) => v === code)?.[0] ?? String(code)
}

export function codeOf(table: Record<string, number>, name: string): number | undefined {
  const key = name.toUpperCase().replace(/-/g, '_')
  return key in table ? table[key] : undefined
}

/** Why a binding cannot be created, as Kafka's CreateAcls validation says; null when it is fine. */
export function bindingProblem(b: AclBinding): string | null {
  const concreteType = [
    ResourceType.TOPIC,
    ResourceType.GROUP,
    ResourceType.CLUSTER,
    ResourceType.TRANSACTIONAL_ID,
    ResourceType.DELEGATION_TOKEN,
    ResourceType.USER,
  ] as number[]
  if (!concreteType.includes(b.resourceType)) return 'Invalid resource type'
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) return 'Invalid pattern type'
  if (b.operation < AclOperation.ALL || b.operation > AclOperation.DESCRIBE_TOKENS) return 'Invalid operation'
  if (b.permissionType !== AclPermission.ALLOW && b.permissionType !== AclPermission.DENY) {
    return 'Invalid permission type'
  }
  if (!b.resourceName) return 'Resource name must not be empty'
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_RESOURCE) {
    return `The only valid name for the CLUSTER resource is ${CLUSTER_RESOURCE}`
  }
  if (!/^[^:]+:.+$/.test(b.principal)) return `Invalid principal ${b.principal}: expected Type:name`
  if (!b.host) return 'Host must not be empty'
  return null
}

/** Kafka's filter matching (ANY matches all, MATCH matches the literal, wildcard and prefixed patterns of a name). */
export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false
  if (f.principal !== null && f.principal !== b.principal) return false
  if (f.host !== null && f.host !== b.host) return false
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false
  if (f.permissionType !== AclPermission.ANY && f.permissionType !== b.permissionType) return false
  if (f.patternType === PatternType.MATCH) {
    if (f.resourceName === null) return true
    return patternMatches(b, f.resourceName)
  }
  if (f.patternType !== PatternType.ANY && f.patternType !== b.patternType) return false
  return f.resourceName === null || f.resourceName === b.resourceName
}

function patternMatches(b: AclBinding, name: string): boolean {
  if (b.patternType === PatternType.LITERAL) return b.resourceName === name || b.resourceName === WILDCARD
  if (b.patternType === PatternType.PREFIXED) return name.startsWith(b.resourceName)
  return false
}

/** Operations that an ALLOW for `op` implies (Kafka: READ, WRITE, DELETE, ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS). */
function allowingOps(op: number): number[] {
  if (op === AclOperation.DESCRIBE) {
    return [
      AclOperation.DESCRIBE,
      AclOperation.READ,
      AclOperation.WRITE,
      AclOperation.DELETE,
      AclOperation.ALTER,
      AclOperation.ALL,
    ]
  }
  if (op === AclOperation.DESCRIBE_CONFIGS) {
    return [AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.ALL]
  }
  return [op, AclOperation.ALL]
}

export interface AuthorizerOptions {
  superUsers: readonly string[]
  allowEveryoneIfNoAclFound: boolean
  /** The durable ACL set (the metadata log); `version` changes whenever it changes. */
  acls(): { version: number; bindings: readonly AclBinding[] }
}

export class Authorizer {
  private indexedVersion = -1
  private byType = new Map<number, AclBinding[]>()

  constructor(private opts: AuthorizerOptions) {}

  private bindingsFor(resourceType: number): AclBinding[] {
    const { version, bindings } = this.opts.acls()
    if (version !== this.indexedVersion) {
      this.byType.clear()
      for (const b of bindings) {
        const list = this.byType.get(b.resourceType) ?? []
        list.push(b)
        this.byType.set(b.resourceType, list)
      }
      this.indexedVersion = version
    }
    return this.byType.get(resourceType) ?? []
  }

  authorize(principal: string, host: string, operation: number, resourceType: number, resourceName: string): boolean {
    if (this.opts.superUsers.includes(principal)) return true
    const matching = this.bindingsFor(resourceType).filter((b) => patternMatches(b, resourceName))
    if (matching.length === 0) return this.opts.allowEveryoneIfNoAclFound
    const principalMatches = (b: AclBinding) => b.principal === principal || b.principal === 'User:*'
    const hostMatches = (b: AclBinding) => b.host === WILDCARD || b.host === host
    const applies = (b: AclBinding) => principalMatches(b) && hostMatches(b)
    const denied = matching.some(
      (b) =>
        b.permissionType === AclPermission.DENY &&
        applies(b) &&
        (b.operation === operation || b.operation === AclOperation.ALL),
    )
    if (denied) return false
    const ops = allowingOps(operation)
    return matching.some((b) => b.permissionType === AclPermission.ALLOW && applies(b) && ops.includes(b.operation))
  }

  /**
   * Whether the principal may perform `operation` on some resource of the type (Kafka's authorizeByResourceType,
   * used for KIP-679's "WRITE on any topic"): an ALLOW that applies and is not cancelled by a DENY on every name.
   */
  authorizeAny(principal: string, host: string, operation: number, resourceType: number): boolean {
    if (this.opts.superUsers.includes(principal)) return true
    const bindings = this.bindingsFor(resourceType)
    if (bindings.length === 0) return this.opts.allowEveryoneIfNoAclFound
    const applies = (b: AclBinding) =>
      (b.principal === principal || b.principal === 'User:*') && (b.host === WILDCARD || b.host === host)
    const opMatches = (b: AclBinding) => b.operation === operation || b.operation === AclOperation.ALL
    const deniedEverywhere = bindings.some(
      (b) =>
        b.permissionType === AclPermission.DENY &&
        applies(b) &&
        opMatches(b) &&
        ((b.patternType === PatternType.LITERAL && b.resourceName === WILDCARD) ||
          (b.patternType === PatternType.PREFIXED && b.resourceName === '')),
    )
    if (deniedEverywhere) return false
    const ops = allowingOps(operation)
    return bindings.some((b) => b.permissionType === AclPermission.ALLOW && applies(b) && ops.includes(b.operation))
  }
}
