/**
 * The layers of src/ (docs/architecture.md), checked on the import graph: every relative import of every source
 * file, type-only imports included, must go to a layer its own layer may use. Today's known violations are listed
 * below with the change that removes each; the list may only shrink (an entry that no longer occurs fails too).
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src')

/** What each layer may import besides itself. `errors` is src/errors.ts, the coded errors every layer raises. */
const MAY_IMPORT: Record<string, readonly string[] | '*'> = {
  errors: [],
  protocol: ['errors'],
  common: ['errors'],
  log: ['protocol', 'common', 'errors'],
  broker: ['log', 'protocol', 'common', 'errors'],
  // The Kafka clients: @platformatic/kafka, and the wire client on the generated codecs (protocol).
  client: ['protocol', 'common', 'errors'],
  serde: ['common', 'errors'],
  // Above the broker: Kafka only through the client, so every module also runs against Apache Kafka.
  registry: ['client', 'serde', 'common', 'errors'],
  streams: ['client', 'serde', 'common', 'errors'],
  connect: ['client', 'serde', 'common', 'errors'],
  workflow: ['client', 'serde', 'common', 'errors'],
  console: ['client', 'serde', 'common', 'errors'],
  cli: '*',
}

/** Layers that must not reach Kafka through a client library (they are what such clients talk to, or below it). */
const NO_KAFKA_CLIENT_LIBRARY = ['protocol', 'common', 'log', 'broker']
const KAFKA_CLIENT_LIBRARIES = ['@platformatic/kafka', 'kafkajs']

/** The network server is wired in by broker.ts; nothing else in the broker may depend on it. */
const SERVER = 'src/broker/server.ts'
const MAY_IMPORT_SERVER = ['src/broker/broker.ts', 'src/broker/index.ts']

interface KnownViolation {
  from: string
  to: string
  /** The change that removes it. */
  removedBy: string
}

const FORMATS_MOVE = 'issue 9 (serdes): schema parsing moves from src/registry/formats to src/serde/formats'
const HANDLERS_AND_SERVER =
  'issue 9 (one owner per concept): handlers and authorization signal a connection close without importing the server'

const KNOWN_VIOLATIONS: KnownViolation[] = [
  { from: 'src/serde/avro-serde.ts', to: 'src/registry/formats/avro.ts', removedBy: FORMATS_MOVE },
  { from: 'src/serde/avro-serde.ts', to: 'src/registry/formats/index.ts', removedBy: FORMATS_MOVE },
  { from: 'src/serde/json-schema-serde.ts', to: 'src/registry/formats/index.ts', removedBy: FORMATS_MOVE },
  { from: 'src/serde/json-schema-serde.ts', to: 'src/registry/formats/json-schema.ts', removedBy: FORMATS_MOVE },
  { from: 'src/serde/protobuf-serde.ts', to: 'src/registry/formats/index.ts', removedBy: FORMATS_MOVE },
  { from: 'src/serde/protobuf-serde.ts', to: 'src/registry/formats/protobuf.ts', removedBy: FORMATS_MOVE },
  { from: 'src/serde/schema-serde.ts', to: 'src/registry/formats/index.ts', removedBy: FORMATS_MOVE },
  { from: 'src/console/rest-proxy/formats.ts', to: 'src/registry/formats/index.ts', removedBy: FORMATS_MOVE },
  { from: 'src/broker/handlers/produce.ts', to: SERVER, removedBy: HANDLERS_AND_SERVER },
  { from: 'src/broker/handlers/sasl-authenticate.ts', to: SERVER, removedBy: HANDLERS_AND_SERVER },
  { from: 'src/broker/handlers/sasl-handshake.ts', to: SERVER, removedBy: HANDLERS_AND_SERVER },
  { from: 'src/broker/security/api-authorization.ts', to: SERVER, removedBy: HANDLERS_AND_SERVER },
]

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) sourceFiles(path, out)
    else if (name.endsWith('.ts')) out.push(path)
  }
  return out
}

/** `src/errors.ts` is the layer `errors`; anything else is named by its folder under src/. */
function layerOf(path: string): string {
  const parts = relative(src, path).split('/')
  return parts.length === 1 ? parts[0]!.replace(/\.ts$/, '') : parts[0]!
}

interface Import {
  from: string
  /** A path relative to the repository for our files, the package name otherwise. */
  to: string
  local: boolean
}

function importsOf(file: string): Import[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return info.importedFiles.map(({ fileName }) => {
    const local = fileName.startsWith('.')
    return {
      from: relative(root, file),
      to: local ? relative(root, resolve(dirname(file), fileName)) : fileName,
      local,
    }
  })
}

const files = sourceFiles(src)
const imports = files.flatMap(importsOf)

function violations(): { from: string; to: string; why: string }[] {
  const out: { from: string; to: string; why: string }[] = []
  for (const i of imports) {
    const fromLayer = layerOf(join(root, i.from))
    if (!i.local) {
      const pkg = KAFKA_CLIENT_LIBRARIES.find((p) => i.to === p || i.to.startsWith(`${p}/`))
      if (pkg && NO_KAFKA_CLIENT_LIBRARY.includes(fromLayer)) {
        out.push({ from: i.from, to: i.to, why: `${fromLayer} must not use the Kafka client library ${pkg}` })
      }
      continue
    }
    const toLayer = layerOf(join(root, i.to))
    const allowed = MAY_IMPORT[fromLayer]
    if (fromLayer !== toLayer && allowed !== '*' && !allowed?.includes(toLayer)) {
      out.push({ from: i.from, to: i.to, why: `${fromLayer} may not import ${toLayer}` })
    }
    if (i.to === SERVER && !MAY_IMPORT_SERVER.includes(i.from)) {
      out.push({ from: i.from, to: i.to, why: 'only broker.ts wires in the network server' })
    }
  }
  return out
}

test('every folder under src/ is a layer with import rules', () => {
  const layers = new Set(files.map(layerOf))
  for (const layer of layers) assert.ok(layer in MAY_IMPORT, `add src/${layer} to MAY_IMPORT in this test`)
})

test('no layer imports one it must not (beyond the known violations being removed)', () => {
  const known = (v: { from: string; to: string }) => KNOWN_VIOLATIONS.some((k) => k.from === v.from && k.to === v.to)
  const unexpected = violations().filter((v) => !known(v))
  assert.deepEqual(
    unexpected.map((v) => `${v.from} -> ${v.to}: ${v.why}`),
    [],
    'see docs/architecture.md for the layers',
  )
})

test('the known violations still occur (remove an entry once its import is gone)', () => {
  const current = violations()
  const gone = KNOWN_VIOLATIONS.filter((k) => !current.some((v) => v.from === k.from && v.to === k.to))
  assert.deepEqual(
    gone.map((k) => `${k.from} -> ${k.to}`),
    [],
    'delete these entries from KNOWN_VIOLATIONS',
  )
})

test('no handler imports the network server', () => {
  const handlers = imports.filter((i) => i.from.startsWith('src/broker/handlers/') && i.to === SERVER)
  const allowed = KNOWN_VIOLATIONS.filter((k) => k.to === SERVER).map((k) => k.from)
  assert.deepEqual(
    handlers.map((i) => i.from).filter((f) => !allowed.includes(f)),
    [],
  )
})

test('the rules see real imports (the graph is not empty and resolves our own files)', () => {
  assert.ok(files.length > 100)
  const brokerToLog = imports.filter((i) => i.local && i.from.startsWith('src/broker/') && i.to.startsWith('src/log/'))
  assert.ok(brokerToLog.length > 0, 'the broker builds on the log')
  for (const i of imports.filter((x) => x.local)) {
    assert.ok(i.to.endsWith('.ts') || i.to.endsWith('.js') || i.to.endsWith('.json'), `${i.from} imports ${i.to}`)
  }
})
