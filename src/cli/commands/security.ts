/**
 * `tributary users|acls|quotas`: SCRAM users, ACLs and client quotas of a running broker, through the Kafka admin
 * APIs (AlterUserScramCredentials, CreateAcls, AlterClientQuotas, ...), so they work on Kafka too.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
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
import { KafkaWireClient, type SaslCredentials } from '../../client/wire-client.ts'
import { TributaryError } from '../../errors.ts'
import { ApiKeys } from '../../protocol/generated/api-table.ts'
import { errorInfo } from '../../protocol/generated/error-codes.ts'

/** Where the commands print (tests swap it to capture the output without touching process.stdout). */
export const securityOutput = { write: (text: string): void => void process.stdout.write(text) }

interface ConnectionFlags {
  bootstrap?: string
  saslMechanism?: string
  username?: string
  password?: string
  tls?: boolean
  ca?: string
}

function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--bootstrap <host:port>', 'broker address (default: $TRIBUTARY_BOOTSTRAP or 127.0.0.1:9092)')
    .option('--sasl-mechanism <m>', 'log in with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512')
    .option('--username <name>', 'SASL user')
    .option('--password <pw>', 'SASL password (default: $TRIBUTARY_SASL_PASSWORD)')
    .option('--tls', 'connect with TLS (SSL or SASL_SSL listener)')
    .option('--ca <file>', 'PEM file of the CA that signed the broker certificate')
}

async function connect(flags: ConnectionFlags): Promise<KafkaWireClient> {
  const bootstrap = flags.bootstrap ?? process.env.TRIBUTARY_BOOTSTRAP ?? '127.0.0.1:9092'
  let sasl: SaslCredentials | undefined
  if (flags.saslMechanism) {
    const mechanism = flags.saslMechanism.toUpperCase()
    if (!['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'].includes(mechanism)) {
      throw new TributaryError('TRB_CLI_USAGE', `unknown SASL mechanism ${flags.saslMechanism}`)
    }
    const password = flags.password ?? process.env.TRIBUTARY_SASL_PASSWORD
    if (!flags.username || password === undefined) {
      throw new TributaryError('TRB_CLI_USAGE', '--sasl-mechanism needs --username and --password')
    }
    sasl = { mechanism: mechanism as 'PLAIN', username: flags.username, password }
  }
  const tls = flags.tls ? (flags.ca ? { ca: readFileSync(flags.ca) } : {}) : undefined
  return KafkaWireClient.connect(bootstrap, { sasl, tls, clientId: 'tributary-cli' })
}

async function withClient<T>(flags: ConnectionFlags, fn: (c: KafkaWireClient) => Promise<T>): Promise<T> {
  const c = await connect(flags)
  try {
    return await fn(c)
  } finally {
    c.close()
  }
}

function check(errorCode: number, errorMessage: string | null | undefined, what: string): void {
  if (errorCode === 0) return
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

export function registerSecurityCommands(program: Command): void {
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
        await withClient(flags, async (c) => {
          const r = await c.call(ApiKeys.AlterUserScramCredentials, 0, { deletions: [], upsertions })
          for (const x of r.results) check(x.errorCode, x.errorMessage, `user ${x.user}`)
        })
        securityOutput.write(`user ${name}: ${mechanismsOf(flags.mechanism).join(', ')} credentials stored\n`)
      },
    )

  addConnectionOptions(users.command('list').description('list users and their SCRAM mechanisms')).action(
    async (flags: ConnectionFlags) => {
      await withClient(flags, async (c) => {
        const r = await c.call(ApiKeys.DescribeUserScramCredentials, 0, { users: null })
        check(r.errorCode, r.errorMessage, 'describe users')
        for (const u of r.results) {
          const mechs = u.credentialInfos.map(
            (i: { mechanism: number; iterations: number }) =>
              `${SCRAM_MECHANISMS.find((m) => SCRAM_MECHANISM_CODES[m] === i.mechanism) ?? i.mechanism} (${i.iterations} iterations)`,
          )
          securityOutput.write(`${u.user}\t${mechs.join(', ')}\n`)
        }
      })
    },
  )

  addConnectionOptions(users.command('delete <name>').description('delete a user'))
    .option('--mechanism <m>', 'SCRAM-SHA-256, SCRAM-SHA-512 or all', 'all')
    .action(async (name: string, flags: ConnectionFlags & { mechanism: string }) => {
      await withClient(flags, async (c) => {
        const existing = await c.call(ApiKeys.DescribeUserScramCredentials, 0, { users: [{ name }] })
        check(existing.results[0]?.errorCode ?? 0, existing.results[0]?.errorMessage, `user ${name}`)
        const has = new Set(existing.results[0].credentialInfos.map((i: { mechanism: number }) => i.mechanism))
        const deletions = mechanismsOf(flags.mechanism)
          .map((m) => ({ name, mechanism: SCRAM_MECHANISM_CODES[m] }))
          .filter((d) => has.has(d.mechanism))
        const r = await c.call(ApiKeys.AlterUserScramCredentials, 0, { deletions, upsertions: [] })
        for (const x of r.results) check(x.errorCode, x.errorMessage, `user ${x.user}`)
      })
      securityOutput.write(`user ${name} deleted\n`)
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
    await withClient(flags, async (c) => {
      const r = await c.call(ApiKeys.CreateAcls, 3, { creations })
      for (const x of r.results) check(x.errorCode, x.errorMessage, 'create ACL')
    })
    securityOutput.write(`${creations.length} ACL(s) added\n`)
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
    await withClient(flags, async (c) => {
      const r = await c.call(
        ApiKeys.DescribeAcls,
        3,
        filterOf({ ...flags, host: flags.host === '*' ? undefined : flags.host }, operations(flags, true)[0]!),
      )
      check(r.errorCode, r.errorMessage, 'describe ACLs')
      for (const res of r.resources) {
        for (const a of res.acls) {
          securityOutput.write(
            `${nameOf(ResourceType, res.resourceType)}:${nameOf(PatternType, res.patternType)}:${res.resourceName}\t${a.principal}\t${a.host}\t${nameOf(AclOperation, a.operation)}\t${nameOf(AclPermission, a.permissionType)}\n`,
          )
        }
      }
    })
  })

  addAclOptions(acls.command('remove').description('remove every ACL matching the filter')).action(
    async (flags: AclFlags) => {
      await withClient(flags, async (c) => {
        const r = await c.call(ApiKeys.DeleteAcls, 3, {
          filters: operations(flags, true).map((op) =>
            filterOf({ ...flags, host: flags.host === '*' ? undefined : flags.host }, op),
          ),
        })
        let n = 0
        for (const f of r.filterResults) {
          check(f.errorCode, f.errorMessage, 'delete ACLs')
          n += f.matchingAcls.length
        }
        securityOutput.write(`${n} ACL(s) removed\n`)
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
      await withClient(flags, async (c) => {
        const r = await c.call(ApiKeys.AlterClientQuotas, 1, { entries: [{ entity, ops }], validateOnly: false })
        check(r.entries[0].errorCode, r.entries[0].errorMessage, 'alter quotas')
      })
      securityOutput.write(`quotas set for ${entityText(entity)}\n`)
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
      await withClient(flags, async (c) => {
        const r = await c.call(ApiKeys.AlterClientQuotas, 1, {
          entries: [{ entity, ops: keys.map((key) => ({ key, value: 0, remove: true })) }],
          validateOnly: false,
        })
        check(r.entries[0].errorCode, r.entries[0].errorMessage, 'alter quotas')
      })
      securityOutput.write(`quotas removed for ${entityText(entity)}\n`)
    })

  addConnectionOptions(quotas.command('describe').description('list every quota')).action(
    async (flags: ConnectionFlags) => {
      await withClient(flags, async (c) => {
        const r = await c.call(ApiKeys.DescribeClientQuotas, 1, { components: [], strict: false })
        check(r.errorCode, r.errorMessage, 'describe quotas')
        for (const e of r.entries ?? []) {
          const values = e.values.map((v: { key: string; value: number }) => `${v.key}=${v.value}`).join(',')
          securityOutput.write(`${entityText(e.entity)}\t${values}\n`)
        }
      })
    },
  )
}
