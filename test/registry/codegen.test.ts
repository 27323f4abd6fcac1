import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Command } from 'commander'
import ts from 'typescript'
import { registerRegistryCommands } from '../../src/cli/commands/registry.ts'
import { generateModules } from '../../src/registry/codegen.ts'
import { type MemoryRegistry, startMemoryRegistry } from './helpers.ts'

const registryModule = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'registry', 'index.ts')

const order = {
  type: 'record',
  name: 'Order',
  namespace: 'shop',
  doc: 'An order placed by a customer',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'quantity', type: 'int' },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID'] } },
    {
      name: 'lines',
      type: { type: 'array', items: { type: 'record', name: 'Line', fields: [{ name: 'sku', type: 'string' }] } },
    },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'tags', type: { type: 'map', values: 'long' } },
  ],
}
const customer = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Customer',
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer' }, kind: { enum: ['person', 'company'] } },
  required: ['name'],
  additionalProperties: false,
}
const proto =
  'syntax = "proto3";\npackage pay;\nmessage Payment { string id = 1; int64 cents = 2; Method method = 3; repeated string notes = 4; }\nenum Method { CARD = 0; CASH = 1; }\n'

describe('registry codegen', () => {
  let r: MemoryRegistry
  let dir: string
  before(async () => {
    r = await startMemoryRegistry()
    dir = mkdtempSync(join(tmpdir(), 'tributary-codegen-'))
    await r.call('POST', '/subjects/orders-value/versions', { schema: JSON.stringify(order) })
    await r.call('POST', '/subjects/customers-value/versions', { schema: JSON.stringify(customer), schemaType: 'JSON' })
    await r.call('POST', '/subjects/payments-value/versions', { schema: proto, schemaType: 'PROTOBUF' })
  })
  after(async () => {
    await r.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('writes types and typed serdes that typecheck and round-trip', async () => {
    const out = join(dir, 'schemas.ts')
    const program = new Command().exitOverride()
    registerRegistryCommands(program)
    const log = console.log
    await program.parseAsync(
      [
        'registry',
        'codegen',
        '--registry',
        r.url,
        '--subject',
        'orders-value',
        '--subject',
        'customers-value@1',
        '--subject',
        'payments-value',
        '--out',
        out,
        '--import-from',
        registryModule,
      ],
      { from: 'user' },
    )
    console.log = log
    const code = readFileSync(out, 'utf8')
    assert.match(code, /export interface Order \{/)
    assert.match(code, /\/\*\* An order placed by a customer \*\//)
    assert.match(code, /status: Status/)
    assert.match(code, /export type Status = "NEW" \| "PAID"/)
    assert.match(code, /lines: Line\[\]/)
    assert.match(code, /note: null \| string/)
    assert.match(code, /tags: Record<string, number>/)
    assert.match(
      code,
      /export type Customer = \{\n {2}name: string\n {2}age\?: number\n {2}kind\?: "person" \| "company"\n\}/,
    )
    assert.match(code, /export interface Payment \{/)
    assert.match(code, /cents\?: string/)
    assert.match(code, /method\?: Method/)
    assert.match(code, /notes\?: string\[\]/)
    assert.match(code, /export function createOrdersValueSerde/)

    // The generated module must typecheck, and misuse of the generated types must not.
    const usage = join(dir, 'usage.ts')
    writeFileSync(
      usage,
      [
        "import { createOrdersValueSerde, type Order } from './schemas.ts'",
        "const o: Order = { id: 'a', quantity: 1, status: 'NEW', lines: [{ sku: 'x' }], note: null, tags: {} }",
        "export const bytes = createOrdersValueSerde('http://x').serialize('orders', o)",
        '// @ts-expect-error status must be one of the enum symbols',
        "export const bad: Order = { ...o, status: 'LOST' }",
      ].join('\n'),
    )
    const compiled = ts.createProgram([out, usage], {
      strict: true,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [join(dirname(registryModule), '..', '..', 'node_modules', '@types')],
    })
    const diagnostics = ts
      .getPreEmitDiagnostics(compiled)
      .filter((d) => d.file?.fileName === out || d.file?.fileName === usage)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    assert.deepEqual(diagnostics, [])

    const mod = await import(out)
    const serde = mod.createOrdersValueSerde(r.url)
    const value = { id: 'a', quantity: 1, status: 'PAID', lines: [{ sku: 'x' }], note: null, tags: { t: 1 } }
    const bytes = await serde.serialize('orders', value)
    assert.deepEqual(JSON.parse(JSON.stringify(await serde.deserialize(bytes))), value)
    assert.equal(mod.ordersValueSchema.id, (await r.call('GET', '/subjects/orders-value/versions/1')).body.id)
  })
})

/** Compiles files with tsc (strict, NodeNext) and returns the diagnostics of those files. */
function typecheck(files: string[]): string[] {
  const compiled = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(dirname(registryModule), '..', '..', 'node_modules', '@types')],
  })
  return ts
    .getPreEmitDiagnostics(compiled)
    .filter((d) => d.file && files.includes(d.file.fileName))
    .map((d) => `${d.file?.fileName.split('/').pop()}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
}

async function codegen(args: string[]): Promise<void> {
  const program = new Command().exitOverride()
  registerRegistryCommands(program)
  await program.parseAsync(['registry', 'codegen', ...args, '--import-from', registryModule], { from: 'user' })
}

describe('registry codegen: subjects whose types share a name', () => {
  let r: MemoryRegistry
  let dir: string
  // An Avro record and a Protobuf message, both named Order, with different shapes.
  const avroOrder = {
    type: 'record',
    name: 'Order',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'cents', type: 'long' },
    ],
  }
  const pbOrder = 'syntax = "proto3";\nmessage Order { string id = 1; int64 cents = 2; }\n'
  before(async () => {
    r = await startMemoryRegistry()
    dir = mkdtempSync(join(tmpdir(), 'tributary-codegen-'))
    await r.call('POST', '/subjects/orders-value/versions', { schema: JSON.stringify(avroOrder) })
    await r.call('POST', '/subjects/pb-value/versions', { schema: pbOrder, schemaType: 'PROTOBUF' })
    await r.call('POST', '/subjects/customers-value/versions', { schema: JSON.stringify(customer), schemaType: 'JSON' })
  })
  after(async () => {
    await r.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('writes one module per subject, each with its own Order, and an index of namespaces', async () => {
    const out = join(dir, 'gen')
    await codegen(['--registry', r.url, '--subject', 'orders-value', '--subject', 'pb-value', '--out-dir', out])
    assert.deepEqual(readdirSync(out).sort(), ['index.ts', 'orders-value.ts', 'pb-value.ts'])
    const avro = readFileSync(join(out, 'orders-value.ts'), 'utf8')
    const pb = readFileSync(join(out, 'pb-value.ts'), 'utf8')
    assert.match(avro, /export interface Order \{\n {2}id: string\n {2}cents: number\n\}/)
    assert.match(avro, /new AvroSerde<Order>/)
    assert.match(pb, /export interface Order \{\n {2}id\?: string\n {2}cents\?: string\n\}/)
    assert.match(pb, /new ProtobufSerde<Order>/)
    assert.doesNotMatch(pb, /AvroSerde/)
    const index = readFileSync(join(out, 'index.ts'), 'utf8')
    assert.match(index, /export \* as ordersValue from "\.\/orders-value\.js"/)
    assert.match(index, /export \* as pbValue from "\.\/pb-value\.js"/)

    // Each serde takes its own subject's Order; the other subject's Order is a type error.
    const usage = join(dir, 'usage.ts')
    writeFileSync(
      usage,
      [
        "import { ordersValue, pbValue } from './gen/index.js'",
        "import { createPbValueSerde, type Order as PbOrder } from './gen/pb-value.js'",
        "const avroOrder: ordersValue.Order = { id: 'a', cents: 250 }",
        "const pbOrder: PbOrder = { id: 'b', cents: '250' }",
        "export const a = ordersValue.createOrdersValueSerde('http://x').serialize('orders', avroOrder)",
        "export const b = createPbValueSerde('http://x').serialize('orders', pbOrder)",
        '// @ts-expect-error the Protobuf serde is typed with the Protobuf Order (cents is a string)',
        "export const c = pbValue.createPbValueSerde('http://x').serialize('orders', avroOrder)",
        '// @ts-expect-error the Avro serde is typed with the Avro Order (cents is a number)',
        "export const d = ordersValue.createOrdersValueSerde('http://x').serialize('orders', pbOrder)",
      ].join('\n'),
    )
    assert.deepEqual(
      typecheck([join(out, 'index.ts'), join(out, 'orders-value.ts'), join(out, 'pb-value.ts'), usage]),
      [],
    )

    // And both round-trip through the registry.
    const mod = await import(join(out, 'index.ts'))
    const avroSerde = mod.ordersValue.createOrdersValueSerde(r.url)
    const pbSerde = mod.pbValue.createPbValueSerde(r.url)
    assert.deepEqual(
      { ...(await avroSerde.deserialize(await avroSerde.serialize('orders', { id: 'a', cents: 250 }))) },
      {
        id: 'a',
        cents: 250,
      },
    )
    const back = await pbSerde.deserialize(await pbSerde.serialize('pb', { id: 'b', cents: '250' }))
    assert.deepEqual({ id: back.id, cents: String(back.cents) }, { id: 'b', cents: '250' })
  })

  it('--all generates every subject at its latest version', async () => {
    const out = join(dir, 'all')
    await codegen(['--registry', r.url, '--all', '--out-dir', out, '--import-extension', '.ts'])
    const subjects = (await r.call('GET', '/subjects')).body as string[]
    assert.deepEqual(readdirSync(out).sort(), ['index.ts', ...subjects.map((s) => `${s}.ts`)].sort())
    assert.match(
      readFileSync(join(out, 'index.ts'), 'utf8'),
      /export \* as customersValue from "\.\/customers-value\.ts"/,
    )
    const files = readdirSync(out).map((f) => join(out, f))
    assert.deepEqual(typecheck(files), [])
    await assert.rejects(codegen(['--registry', r.url, '--all', '--subject', 'pb-value']), /either --all or --subject/)
  })

  it('refuses to put two different types of one name in a single --out module', async () => {
    await assert.rejects(
      codegen([
        '--registry',
        r.url,
        '--subject',
        'orders-value',
        '--subject',
        'pb-value',
        '--out',
        join(dir, 'one.ts'),
      ]),
      (error: Error & { code?: string }) =>
        error.code === 'TRB_CODEGEN_NAME_CONFLICT' &&
        /"orders-value" and "pb-value" both declare a different type Order/.test(error.message),
    )
  })

  it('keeps names distinct inside one schema and across subjects that differ in punctuation', () => {
    const version = (subject: string, schema: unknown) => ({
      version: {
        subject,
        version: 1,
        id: 1,
        schemaType: 'AVRO' as const,
        schema: JSON.stringify(schema),
        references: [],
        deleted: false,
      },
      references: [],
    })
    const twoOrders = {
      type: 'record',
      name: 'Order',
      namespace: 'a',
      fields: [{ name: 'other', type: { type: 'record', name: 'Order', namespace: 'b', fields: [] } }],
    }
    const { files, modules } = generateModules([version('orders-value', twoOrders), version('orders.value', 'string')])
    assert.deepEqual(
      modules.map((m) => [m.file, m.namespace]),
      [
        ['orders-value.ts', 'ordersValue'],
        ['orders.value.ts', 'ordersValue2'],
      ],
    )
    const first = files.get('orders-value.ts') ?? ''
    assert.match(first, /export interface BOrder \{/)
    assert.match(first, /export interface Order \{\n {2}other: BOrder\n\}/)
    assert.match(files.get('orders.value.ts') ?? '', /export type OrdersValue2 = string/)
  })
})
