/**
 * `tributary users|acls|quotas`: SCRAM users, ACLs and client quotas of a running broker, through the Kafka admin
 * APIs (AlterUserScramCredentials, CreateAcls, AlterClientQuotas, ...), so they work on Kafka too.
 */
import { randomBytes } from 'node:crypto'
import type { Command } from 'commander'
import {
  AclOperation,
  AclPermission,
  CLUSTER_RESOURCE,
  codeOf,
  nameOf,
  PatternType,
  ResourceType,
} from '../../broker/security/acl.ts'
import {
  MIN_ITERATIONS,
  SCRAM_MECHANISM_CODES,
  SCRAM_MECHANISMS,
  type ScramMechanism,
  saltPassword,
} from '../../broker/security/scram.ts'
import type { KafkaWireClient } from '../../client/wire-client.ts'
import { TributaryError } from '../../errors.ts'
import { addConnectionOptions, type ConnectionFlags, resolveConnection } from '../connection.ts'
import type { CliContext } from '../context.ts'
import { outputFormat, plural, printListing, printResult } from '../output.ts'

/** The generated API keys, loaded with the wire client when a command runs (not for --help). */
type Wire = { ApiKeys: typeof import('../../protocol/generated/api-table.ts').ApiKeys; c: KafkaWireClient }

async function withClient<T>(flags: ConnectionFlags, ctx: CliContext, fn: (w: Wire) => Promise<T>): Promise<T> {
  const conn = resolveConnection(flags, ctx)
  const [wire, { ApiKeys }] = await Promise.all([
    import('../../client/wire-client.ts'),
    import('../../protocol/generated/api-table.ts'),
  ])
  // These admin APIs are answered by any broker of a cluster (forwarded to the controller), so the first
  // bootstrap address is enough.
  const bootstrap = conn.bootstrap[0]!
  let c: KafkaWireClient
  try {
    c = await wire.KafkaWireClient.connect(bootstrap, { sasl: conn.sasl, tls: conn.tls, clientId: 'tributary-cli' })
  } catch (err) {
    if (err instanceof TributaryError) throw err
    const e = err as NodeJS.ErrnoException
    throw new TributaryError('TRB_CONNECTION_FAILED', `cannot reach the broker at ${bootstrap}: ${e.code ?? e.message}`)
  }
  try {
    return await fn({ ApiKeys, c })
  } finally {
    c.close()
  }
}

async function check(errorCode: number, errorMessage: string | null | undefined, what: string): Promise<void> {
  if (errorCode === 0) return
  const { errorInfo } = await import('../../protocol/generated/error-codes.ts')
  const name = errorInfo.get(errorCode)?.name ?? String(errorCode)
  throw new TributaryError('TRB_ADMIN_FAILED', `${what}: ${name}${errorMessage ? ` (${errorMessage})` : ''}`)
}

function mechanismsOf(flag: string | undefined): ScramMechanism[] {
  if (!flag || flag === 'all') return [...SCRAM_MECHANISMS]
  const m = flag.toUpperCase() as ScramMechanism
  if (!SCRAM_MECHANISMS.includes(m)) throw new TributaryError('TRB_CLI_USAGE', `unknown SCRAM mechanism ${flag}`)
  return [m]
}

interface AclFlags extends ConnectionFlags {
  principal?: string
  host?: string
  operation?: string[]
  topic?: string
  group?: string
  transactionalId?: string
  cluster?: boolean
  prefixed?: boolean
  deny?: boolean
}

function aclResource(flags: AclFlags, forFilter: boolean): { type: number; name: string | null } {
  const given = [flags.topic, flags.group, flags.transactionalId, flags.cluster ? CLUSTER_RESOURCE : undefined].filter(
    (x) => x !== undefined,
  )
  if (given.length > 1)
    throw new TributaryError('TRB_CLI_USAGE', 'name one resource: --topic, --group, --transactional-id or --cluster')
  if (flags.topic !== undefined) return { type: ResourceType.TOPIC, name: flags.topic }
  if (flags.group !== undefined) return { type: ResourceType.GROUP, name: flags.group }
  if (flags.transactionalId !== undefined) return { type: ResourceType.TRANSACTIONAL_ID, name: flags.transactionalId }
  if (flags.cluster) return { type: ResourceType.CLUSTER, name: CLUSTER_RESOURCE }
  if (forFilter) return { type: ResourceType.ANY, name: null }
  throw new TributaryError('TRB_CLI_USAGE', 'name a resource: --topic, --group, --transactional-id or --cluster')
}

function operations(flags: AclFlags, forFilter: boolean): number[] {
  if (!flags.operation || flags.operation.length === 0) {
    if (forFilter) return [AclOperation.ANY]
    throw new TributaryError('TRB_CLI_USAGE', 'give at least one --operation (e.g. READ, WRITE, DESCRIBE, ALL)')
  }
  return flags.operation.map((o) => {
    const code = codeOf(AclOperation, o)
    if (code === undefined || code <= AclOperation.ANY)
      throw new TributaryError('TRB_CLI_USAGE', `unknown operation ${o}`)
    return code
  })
}

const collect = (value: string, previous: string[] = []) => [...previous, value]

function addAclOptions(cmd: Command): Command {
  return addConnectionOptions(cmd)
    .option('--principal <p>', 'e.g. User:alice, or User:* for everyone')
    .option('--host <h>', 'client host the ACL applies to', '*')
    .option(
      '--operation <op>',
      'READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALL (repeatable)',
      collect,
    )
    .option('--topic <name>', 'topic resource (with --prefixed: every topic starting with it; * for all)')
    .option('--group <name>', 'consumer group resource')
    .option('--transactional-id <id>', 'transactional id resource')
    .option('--cluster', 'the cluster resource')
    .option('--prefixed', 'PREFIXED pattern instead of LITERAL')
    .option('--deny', 'DENY instead of ALLOW')
}

interface QuotaFlags extends ConnectionFlags {
  user?: string
  userDefault?: boolean
  clientId?: string
  clientDefault?: boolean
  producerByteRate?: string
  consumerByteRate?: string
  requestPercentage?: string
}

function quotaEntity(flags: QuotaFlags): { entityType: string; entityName: string | null }[] {
  const entity: { entityType: string; entityName: string | null }[] = []
  if (flags.user !== undefined) entity.push({ entityType: 'user', entityName: flags.user })
  else if (flags.userDefault) entity.push({ entityType: 'user', entityName: null })
  if (flags.clientId !== undefined) entity.push({ entityType: 'client-id', entityName: flags.clientId })
  else if (flags.clientDefault) entity.push({ entityType: 'client-id', entityName: null })
  return entity
}

function addQuotaEntityOptions(cmd: Command): Command {
  return addConnectionOptions(cmd)
    .option('--user <name>', 'user entity')
    .option('--user-default', 'the default for all users')
    .option('--client-id <id>', 'client-id entity')
    .option('--client-default', 'the default for all client ids')
}

function entityText(entity: { entityType: string; entityName: string | null }[]): string {
  return entity.map((e) => `${e.entityType}=${e.entityName ?? '<default>'}`).join(',')
}

export function registerSecurityCommands(program: Command, ctx: CliContext): void {
  const users = program
    .command('users')
    .description('SCRAM users of a running broker (Describe/AlterUserScramCredentials)')

  addConnectionOptions(users.command('add <name>').description('add a user or change its password'))
    .requiredOption('--user-password <pw>', 'the new user password')
    .option('--mechanism <m>', 'SCRAM-SHA-256, SCRAM-SHA-512 or all', 'all')
    .option('--iterations <n>', 'PBKDF2 iterations (>= 4096)', String(MIN_ITERATIONS))
    .action(
      async (
        name: string,
        flags: ConnectionFlags & { userPassword: string; mechanism: string; iterations: string },
      ) => {
        const iterations = Number(flags.iterations)
        const upsertions: {
          name: string
          mechanism: number
          iterations: number
          salt: Buffer
          saltedPassword: Buffer
        }[] = []
        for (const m of mechanismsOf(flags.mechanism)) {
          const salt = randomBytes(24)
          const saltedPassword = await saltPassword(m, flags.userPassword, salt, iterations)
          upsertions.push({ name, mechanism: SCRAM_MECHANISM_CODES[m], iterations, salt, saltedPassword })
        }
        await withClient(flags, ctx, async ({ ApiKeys, c }) => {
          const r = await c.call(ApiKeys.AlterUserScramCredentials, 0, { deletions: [], upsertions })
          for (const x of r.results) await check(x.errorCode, x.errorMessage, `user ${x.user}`)
        })
        const stored = mechanismsOf(flags.mechanism)
        printResult(ctx, outputFormat(flags, ctx), `user ${name}: ${stored.join(', ')} credentials stored`, {
          user: name,
          mechanisms: stored,
          iterations,
        })
      },
    )

  addConnectionOptions(users.command('list').description('list users and their SCRAM mechanisms')).action(
    async (flags: ConnectionFlags) => {
      await withClient(flags, ctx, async ({ ApiKeys, c }) => {
        const r = await c.call(ApiKeys.DescribeUserScramCredentials, 0, { users: null })
        await check(r.errorCode, r.errorMessage, 'describe users')
        const users = (
          r.results as { user: string; credentialInfos: { mechanism: number; iterations: number }[] }[]
        ).map((u) => ({
          user: u.user,
          credentials: u.credentialInfos.map((i) => ({
            mechanism: SCRAM_MECHANISMS.find((m) => SCRAM_MECHANISM_CODES[m] === i.mechanism) ?? String(i.mechanism),
            iterations: i.iterations,
          })),
        }))
        printListing(ctx, outputFormat(flags, ctx), {
          columns: ['USER', 'MECHANISMS'],
          rows: users.map((u) => [
            u.user,
            u.credentials.map((c) => `${c.mechanism} (${c.iterations} iterations)`).join(', '),
          ]),
          json: users,
          empty: 'no SCRAM users',
        })
      })
    },
  )

  addConnectionOptions(users.command('delete <name>').description('delete a user'))
    .option('--mechanism <m>', 'SCRAM-SHA-256, SCRAM-SHA-512 or all', 'all')
    .action(async (name: string, flags: ConnectionFlags & { mechanism: string }) => {
      await withClient(flags, ctx, async ({ ApiKeys, c }) => {
        const existing = await c.call(ApiKeys.DescribeUserScramCredentials, 0, { users: [{ name }] })
        await check(existing.results[0]?.errorCode ?? 0, existing.results[0]?.errorMessage, `user ${name}`)
        const has = new Set(existing.results[0].credentialInfos.map((i: { mechanism: number }) => i.mechanism))
        const deletions = mechanismsOf(flags.mechanism)
          .map((m) => ({ name, mechanism: SCRAM_MECHANISM_CODES[m] }))
          .filter((d) => has.has(d.mechanism))
        const r = await c.call(ApiKeys.AlterUserScramCredentials, 0, { deletions, upsertions: [] })
        for (const x of r.results) await check(x.errorCode, x.errorMessage, `user ${x.user}`)
      })
      printResult(ctx, outputFormat(flags, ctx), `user ${name} deleted`, { user: name, deleted: true })
    })

  const acls = program.command('acls').description('ACLs of a running broker (CreateAcls, DescribeAcls, DeleteAcls)')

  addAclOptions(acls.command('add').description('add ACLs')).action(async (flags: AclFlags) => {
    if (!flags.principal) throw new TributaryError('TRB_CLI_USAGE', 'acls add needs --principal')
    const resource = aclResource(flags, false)
    const creations = operations(flags, false).map((operation) => ({
      resourceType: resource.type,
      resourceName: resource.name!,
      resourcePatternType: flags.prefixed ? PatternType.PREFIXED : PatternType.LITERAL,
      principal: flags.principal!,
      host: flags.host ?? '*',
      operation,
      permissionType: flags.deny ? AclPermission.DENY : AclPermission.ALLOW,
    }))
    await withClient(flags, ctx, async ({ ApiKeys, c }) => {
      const r = await c.call(ApiKeys.CreateAcls, 3, { creations })
      for (const x of r.results) await check(x.errorCode, x.errorMessage, 'create ACL')
    })
    printResult(ctx, outputFormat(flags, ctx), `${plural(creations.length, 'ACL')} added`, { added: creations.length })
  })

  const filterOf = (flags: AclFlags, operation: number) => {
    const resource = aclResource(flags, true)
    return {
      resourceTypeFilter: resource.type,
      resourceNameFilter: resource.name,
      patternTypeFilter: flags.prefixed
        ? PatternType.PREFIXED
        : resource.name === null
          ? PatternType.ANY
          : PatternType.LITERAL,
      principalFilter: flags.principal ?? null,
      hostFilter: flags.host === '*' || flags.host === undefined ? null : flags.host,
      operation,
      permissionType: flags.deny ? AclPermission.DENY : AclPermission.ANY,
    }
  }

  addAclOptions(acls.command('list').description('list ACLs, optionally filtered')).action(async (flags: AclFlags) => {
    await withClient(flags, ctx, async ({ ApiKeys, c }) => {
      const r = await c.call(
        ApiKeys.DescribeAcls,
        3,
        filterOf({ ...flags, host: flags.host === '*' ? undefined : flags.host }, operations(flags, true)[0]!),
      )
      await check(r.errorCode, r.errorMessage, 'describe ACLs')
      const acls: Record<string, string>[] = []
      for (const res of r.resources) {
        for (const a of res.acls) {
          acls.push({
            resourceType: nameOf(ResourceType, res.resourceType),
            patternType: nameOf(PatternType, res.patternType),
            resourceName: res.resourceName,
            principal: a.principal,
            host: a.host,
            operation: nameOf(AclOperation, a.operation),
            permission: nameOf(AclPermission, a.permissionType),
          })
        }
      }
      printListing(ctx, outputFormat(flags, ctx), {
        columns: ['RESOURCE', 'PATTERN', 'NAME', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'],
        rows: acls.map((a) => [
          a.resourceType,
          a.patternType,
          a.resourceName,
          a.principal,
          a.host,
          a.operation,
          a.permission,
        ]),
        json: acls,
        empty: 'no ACLs',
      })
    })
  })

  addAclOptions(acls.command('remove').description('remove every ACL matching the filter')).action(
    async (flags: AclFlags) => {
      await withClient(flags, ctx, async ({ ApiKeys, c }) => {
        const r = await c.call(ApiKeys.DeleteAcls, 3, {
          filters: operations(flags, true).map((op) =>
            filterOf({ ...flags, host: flags.host === '*' ? undefined : flags.host }, op),
          ),
        })
        let n = 0
        for (const f of r.filterResults) {
          await check(f.errorCode, f.errorMessage, 'delete ACLs')
          n += f.matchingAcls.length
        }
        printResult(ctx, outputFormat(flags, ctx), `${plural(n, 'ACL')} removed`, { removed: n })
      })
    },
  )

  const quotas = program.command('quotas').description('client quotas of a running broker (Describe/AlterClientQuotas)')

  addQuotaEntityOptions(quotas.command('set').description('set quota values for a user and/or client id'))
    .option('--producer-byte-rate <n>', 'bytes per second produced')
    .option('--consumer-byte-rate <n>', 'bytes per second fetched')
    .option('--request-percentage <n>', 'share of one request-handling thread, in percent')
    .action(async (flags: QuotaFlags) => {
      const entity = quotaEntity(flags)
      if (entity.length === 0)
        throw new TributaryError('TRB_CLI_USAGE', 'name --user/--user-default and/or --client-id/--client-default')
      const ops = [
        ['producer_byte_rate', flags.producerByteRate],
        ['consumer_byte_rate', flags.consumerByteRate],
        ['request_percentage', flags.requestPercentage],
      ]
        .filter(([, v]) => v !== undefined)
        .map(([key, v]) => ({ key: key!, value: Number(v), remove: false }))
      if (ops.length === 0) throw new TributaryError('TRB_CLI_USAGE', 'give at least one quota value')
      await withClient(flags, ctx, async ({ ApiKeys, c }) => {
        const r = await c.call(ApiKeys.AlterClientQuotas, 1, { entries: [{ entity, ops }], validateOnly: false })
        await check(r.entries[0].errorCode, r.entries[0].errorMessage, 'alter quotas')
      })
      printResult(ctx, outputFormat(flags, ctx), `quotas set for ${entityText(entity)}`, {
        entity: entityText(entity),
        set: Object.fromEntries(ops.map((o) => [o.key, o.value])),
      })
    })

  addQuotaEntityOptions(quotas.command('remove').description('remove quota values'))
    .option(
      '--key <k>',
      'producer_byte_rate, consumer_byte_rate or request_percentage (repeatable; default all)',
      collect,
    )
    .action(async (flags: QuotaFlags & { key?: string[] }) => {
      const entity = quotaEntity(flags)
      if (entity.length === 0)
        throw new TributaryError('TRB_CLI_USAGE', 'name --user/--user-default and/or --client-id/--client-default')
      const keys = flags.key ?? ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage']
      await withClient(flags, ctx, async ({ ApiKeys, c }) => {
        const r = await c.call(ApiKeys.AlterClientQuotas, 1, {
          entries: [{ entity, ops: keys.map((key) => ({ key, value: 0, remove: true })) }],
          validateOnly: false,
        })
        await check(r.entries[0].errorCode, r.entries[0].errorMessage, 'alter quotas')
      })
      printResult(ctx, outputFormat(flags, ctx), `quotas removed for ${entityText(entity)}`, {
        entity: entityText(entity),
        removed: keys,
      })
    })

  addConnectionOptions(quotas.command('describe').description('list every quota')).action(
    async (flags: ConnectionFlags) => {
      await withClient(flags, ctx, async ({ ApiKeys, c }) => {
        const r = await c.call(ApiKeys.DescribeClientQuotas, 1, { components: [], strict: false })
        await check(r.errorCode, r.errorMessage, 'describe quotas')
        const entries = (
          (r.entries ?? []) as {
            entity: { entityType: string; entityName: string | null }[]
            values: { key: string; value: number }[]
          }[]
        ).map((e) => ({
          entity: entityText(e.entity),
          quotas: Object.fromEntries(e.values.map((v) => [v.key, v.value])),
        }))
        printListing(ctx, outputFormat(flags, ctx), {
          columns: ['ENTITY', 'QUOTAS'],
          rows: entries.map((e) => [
            e.entity,
            Object.entries(e.quotas)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
          ]),
          json: entries,
          empty: 'no quotas',
        })
      })
    },
  )
}
