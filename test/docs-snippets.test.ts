/**
 * Every code block of README.md and docs/ runs as written against the platform of `npm start` (see
 * test/helpers/doc-snippets.ts for the rules, docs/contributing-docs.md for authors). Blocks marked
 * `requires: kcat` run in test-interop/docs-snippets.test.ts instead.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ensureBuilt } from './helpers/build.ts'
import { DocSession, documents, nonLoopbackTargets, parseDocument, runsBlock } from './helpers/doc-snippets.ts'

const docs = documents().map((doc) => ({ doc, ...parseDocument(doc) }))

describe('documentation snippets', () => {
  it('every code block is tagged, every marker valid, every target on loopback', () => {
    const problems = docs.flatMap((d) => d.problems)
    for (const d of docs) {
      for (const b of d.blocks.filter(runsBlock)) {
        for (const t of nonLoopbackTargets(b))
          problems.push(`${b.doc}:${b.line}: names ${t}; snippets target loopback only`)
      }
    }
    assert.deepEqual(problems, [])
  })

  for (const { doc, blocks } of docs) {
    const runnable = blocks.filter((b) => runsBlock(b) && b.requires.length === 0)
    if (runnable.length === 0) continue
    describe(doc, () => {
      let session: DocSession
      before(async () => {
        await ensureBuilt()
        session = await DocSession.open(doc)
      })
      after(() => session.close())
      for (const b of runnable) {
        const what = b.file
          ? `writes ${b.file}`
          : b.background
            ? 'starts servers'
            : b.service
              ? 'starts a service'
              : b.lang
        it(`line ${b.line}: ${what}`, () => session.run(b))
      }
    })
  }
})
