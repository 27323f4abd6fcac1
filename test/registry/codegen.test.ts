import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Command } from 'commander'
import ts from 'typescript'
import { registerRegistryCommands } from '../../src/cli/commands/registry.ts'
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
