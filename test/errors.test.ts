import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ERROR_DOCS_PATH, renderErrorDocs } from '../scripts/generate-error-docs.ts'
import { errorCodes, isTributaryErrorCode, TributaryError } from '../src/errors.ts'
import { LogError } from '../src/log/index.ts'
import { ErrorCode } from '../src/protocol/index.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) files(path, out)
    else if (/\.(ts|mjs|js|md)$/.test(name)) out.push(path)
  }
  return out
}

const sources = ['src', 'test', 'test-interop', 'bench', 'scripts', 'examples', 'docs', 'bin']
  .flatMap((d) => files(join(root, d)))
  .concat(join(root, 'README.md'))
  .filter((f) => f !== join(root, 'src', 'errors.ts') && f !== ERROR_DOCS_PATH && f !== fileURLToPath(import.meta.url))

/** Every TRB_* code written in a file; a name ending in `_` is a prefix (`TRB_SERDE_${string}`, `TRB_*`). */
function codesIn(text: string): string[] {
  return [...text.matchAll(/\bTRB_[A-Z0-9_]*/g)].map((m) => m[0]).filter((c) => !c.endsWith('_'))
}

test('every TRB_* code written in the code, tests and docs is declared in src/errors.ts', () => {
  const undeclared: string[] = []
  for (const file of sources) {
    for (const code of codesIn(readFileSync(file, 'utf8'))) {
      if (!isTributaryErrorCode(code)) undeclared.push(`${relative(root, file)}: ${code}`)
    }
  }
  assert.deepEqual(undeclared, [], 'declare these codes in src/errors.ts (then npm run generate:errors)')
})

test('every declared code has a meaning and is raised somewhere in src/', () => {
  const used = new Set(
    sources.filter((f) => f.startsWith(join(root, 'src'))).flatMap((f) => codesIn(readFileSync(f, 'utf8'))),
  )
  for (const [code, { meaning }] of Object.entries(errorCodes)) {
    assert.ok(meaning.length > 10, `${code} needs a meaning`)
    assert.ok(used.has(code), `${code} is declared but never raised: remove it from src/errors.ts`)
  }
})

test('docs/errors.md is generated from the declared list', () => {
  assert.equal(
    readFileSync(ERROR_DOCS_PATH, 'utf8'),
    renderErrorDocs(),
    'docs/errors.md is stale: run npm run generate:errors',
  )
})

test('an error knows from the list whether it is retriable', () => {
  assert.equal(new TributaryError('TRB_CONFIG_INVALID', 'x').retriable, false)
  assert.equal(new TributaryError('TRB_SERDE_REGISTRY_UNAVAILABLE', 'x').retriable, true)
  const rejection = new LogError(ErrorCode.CORRUPT_MESSAGE, 'bad crc')
  assert.equal(rejection.code, 'TRB_LOG_CORRUPT_MESSAGE')
  assert.equal(rejection.errorCode, ErrorCode.CORRUPT_MESSAGE)
  assert.equal(rejection.retriable, true)
})
