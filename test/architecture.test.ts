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

/**
 * The network server is wired in by broker.ts; nothing else in the broker may depend on it, nor on the connections
 * it accepts (handlers ask for a close through their RequestContext).
 */
const SERVER = 'src/broker/server.ts'
const MAY_IMPORT_SERVER = ['src/broker/broker.ts', 'src/broker/index.ts']
const CONNECTION = 'src/broker/connection.ts'
const MAY_IMPORT_CONNECTION = [SERVER]

interface KnownViolation {
  from: string
  to: string
  /** The change that removes it. */
  removedBy: string
}

const KNOWN_VIOLATIONS: KnownViolation[] = []

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
    if (i.to === CONNECTION && !MAY_IMPORT_CONNECTION.includes(i.from)) {
      out.push({ from: i.from, to: i.to, why: 'only the network server creates connections' })
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
  const handlers = imports.filter(
    (i) => i.from.startsWith('src/broker/handlers/') && (i.to === SERVER || i.to === CONNECTION),
  )
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

/*
 * API keys are named (ApiKeys of src/protocol/generated/api-table.ts) everywhere but in the generated code. The check
 * reads the syntax tree, so that only numbers standing for an API key are flagged: an `apiKey` property or variable
 * set to a number, a comparison of an api key with a number, `case <n>:` in a switch on an api key, the API key
 * argument of the codec and wire-client calls, and sets, arrays, maps and objects of numbers that hold APIs (named
 * so, or looked up with an api key).
 */
const GENERATED = join(src, 'protocol', 'generated')

function nameText(node: ts.Node): string | undefined {
  if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node) || ts.isStringLiteral(node)) return node.text
  if (ts.isPropertyAccessExpression(node)) return node.name.text
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isNonNullExpression(node)) {
    return nameText(node.expression)
  }
  return undefined
}

/** An expression that holds an API key: `apiKey`, `ctx.apiKey`, `h.requestApiKey`, `api_key`. */
function isApiKey(node: ts.Node): boolean {
  return /api_?key$/i.test(nameText(node) ?? '')
}

function unwrap(node: ts.Expression): ts.Expression {
  while (ts.isAsExpression(node) || ts.isSatisfiesExpression(node) || ts.isParenthesizedExpression(node)) {
    node = node.expression
  }
  return node
}

/** Whether a literal is a collection of numbers: array elements, Set/Map entries, or numeric object keys. */
function holdsNumbers(init: ts.Expression | undefined): boolean {
  if (!init) return false
  const e = unwrap(init)
  if (ts.isArrayLiteralExpression(e)) {
    return e.elements.some(
      (x) => ts.isNumericLiteral(x) || (ts.isArrayLiteralExpression(x) && ts.isNumericLiteral(x.elements[0] ?? x)),
    )
  }
  if (ts.isNewExpression(e)) return holdsNumbers(e.arguments?.[0])
  if (ts.isObjectLiteralExpression(e)) {
    return e.properties.some((p) => ts.isPropertyAssignment(p) && ts.isNumericLiteral(p.name))
  }
  return false
}

/** Collections whose name says they hold APIs: PRE_AUTH_APIS, selfAuthorizingApis, API_RULES. */
const API_COLLECTION_NAME = /(^|_)APIS?(_|$)|Apis$|^apis$|^apis?[A-Z]/

/** The codec and wire-client functions whose first argument is an API key. */
const API_KEY_FIRST_ARGUMENT = new Set(['apiCodec', 'isFlexibleVersion', 'errorResponse'])

function bareApiNumbers(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const flag = (node: ts.Node) => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1
    found.push(`${fileName}:${line}: ${node.getText(sf).split('\n')[0]}`)
  }
  const declarations = new Map<string, ts.VariableDeclaration>()
  const lookedUpByApiKey = new Set<string>()
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAssignment(node) || ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node)) {
      const name = nameText(node.name)
      const init = node.initializer && unwrap(node.initializer)
      if (init && ts.isNumericLiteral(init) && /api_?key$/i.test(name ?? '')) flag(node)
      if (name && API_COLLECTION_NAME.test(name) && holdsNumbers(node.initializer)) flag(node)
      if (ts.isVariableDeclaration(node) && name) declarations.set(name, node)
    }
    if (ts.isBinaryExpression(node)) {
      const op = node.operatorToken.kind
      const equality =
        op === ts.SyntaxKind.EqualsEqualsEqualsToken ||
        op === ts.SyntaxKind.ExclamationEqualsEqualsToken ||
        op === ts.SyntaxKind.EqualsEqualsToken ||
        op === ts.SyntaxKind.ExclamationEqualsToken
      const [l, r] = [unwrap(node.left), unwrap(node.right)]
      if (equality && ((isApiKey(l) && ts.isNumericLiteral(r)) || (isApiKey(r) && ts.isNumericLiteral(l)))) flag(node)
    }
    if (ts.isSwitchStatement(node) && isApiKey(node.expression)) {
      for (const clause of node.caseBlock.clauses) {
        if (ts.isCaseClause(clause) && ts.isNumericLiteral(unwrap(clause.expression))) flag(clause)
      }
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression
      const [first, second] = node.arguments
      const method = ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined
      const target = ts.isPropertyAccessExpression(callee) ? nameText(callee.expression) : undefined
      const firstNumber = first !== undefined && ts.isNumericLiteral(unwrap(first))
      if (firstNumber && ts.isIdentifier(callee) && API_KEY_FIRST_ARGUMENT.has(callee.text)) flag(node)
      if (firstNumber && (method === 'get' || method === 'has') && /apiCodecs|handlers/i.test(target ?? '')) flag(node)
      // The wire client's call(apiKey, version, body) and request(apiKey, version, body).
      if (firstNumber && second && ts.isNumericLiteral(unwrap(second)) && (method === 'call' || method === 'request')) {
        flag(node)
      }
      if ((method === 'get' || method === 'has') && first && isApiKey(first) && target) lookedUpByApiKey.add(target)
    }
    if (ts.isElementAccessExpression(node) && isApiKey(node.argumentExpression)) {
      const target = nameText(node.expression)
      if (target) lookedUpByApiKey.add(target)
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  for (const name of lookedUpByApiKey) {
    const d = declarations.get(name)
    if (d && holdsNumbers(d.initializer) && !API_COLLECTION_NAME.test(name)) flag(d)
  }
  return found
}

test('no bare API number in src outside the generated protocol code (ApiKeys names them)', () => {
  const found = files
    .filter((f) => !f.startsWith(GENERATED))
    .flatMap((f) => bareApiNumbers(relative(root, f), readFileSync(f, 'utf8')))
  assert.deepEqual(found, [], 'use ApiKeys from src/protocol/generated/api-table.ts')
})

test('the bare API number check flags API keys written as numbers, and no other numbers', () => {
  const flagged = (code: string) => bareApiNumbers('x.ts', code).length
  for (const bad of [
    'export const h = { apiKey: 0, minVersion: 3 }',
    'if (ctx.apiKey === 18) x()',
    'if (3 !== req.apiKey) x()',
    'const PRE_AUTH_APIS = new Set([18, 17, 36])',
    'export const SELF_AUTHORIZING_APIS = new Set([17, 18, 29])',
    'const apiKey = 22',
    'switch (apiKey) { case 0: break }',
    'const RULES = new Map([[0, produce], [1, fetch]])\nconst r = RULES.get(h.apiKey)',
    'const FROM: Record<number, number> = { 0: 6, 1: 8 }\nconst v = FROM[apiKey]',
    'const codec = apiCodec(3)',
    'const codec = apiCodecs.get(19)',
    'await client.call(18, 3, {})',
  ]) {
    assert.equal(flagged(bad), 1, bad)
  }
  for (const fine of [
    'export const h = { apiKey: ApiKeys.Produce, minVersion: 3, maxVersion: 11 }',
    'if (ctx.apiKey === ApiKeys.Fetch && ctx.apiVersion >= 13) x()',
    'switch (codec) { case 0: return none; case 1: return gzip }',
    'const CONFIG_TYPE = new Set([1, 2, 3])',
    'const x = { errorCode: 0, throttleTimeMs: 0, partitions: [0, 1, 2] }',
    'if (req.acks === 0) close()',
    'await client.call(ApiKeys.Metadata, 12, { topics: null })',
    'const BITS = { 3: "READ" }\nconst v = BITS[operation]',
  ]) {
    assert.equal(flagged(fine), 0, fine)
  }
})
