/**
 * The documents that have blocks needing a Debian package (`<!-- requires: kcat -->`), run whole, like
 * test/docs-snippets.test.ts runs the rest.
 */
import { execFileSync } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { ensureBuilt } from '../test/helpers/build.ts'
import { DocSession, documents, parseDocument, runsBlock } from '../test/helpers/doc-snippets.ts'

describe('documentation snippets that need Debian packages', () => {
  for (const doc of documents()) {
    const { blocks } = parseDocument(doc)
    if (!blocks.some((b) => runsBlock(b) && b.requires.length > 0)) continue
    describe(doc, () => {
      let session: DocSession
      before(async () => {
        for (const tool of new Set(blocks.flatMap((b) => b.requires))) execFileSync('sh', ['-c', `command -v ${tool}`])
        await ensureBuilt()
        session = await DocSession.open(doc)
      })
      after(() => session.close())
      for (const b of blocks.filter(runsBlock)) {
        it(`line ${b.line}: ${b.file ? `writes ${b.file}` : b.lang}${b.requires.length ? ` (${b.requires.join(', ')})` : ''}`, () =>
          session.run(b))
      }
    })
  }
})
