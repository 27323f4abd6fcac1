import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ManualTime, systemTimers } from '../../src/common/time.ts'

describe('ManualTime', () => {
  it('fires due timers in due order, with now() at each due time, including timers they schedule', () => {
    const time = new ManualTime(1000)
    const fired: string[] = []
    time.setTimeout(() => fired.push(`b@${time.now()}`), 20)
    time.setTimeout(() => {
      fired.push(`a@${time.now()}`)
      time.setTimeout(() => fired.push(`c@${time.now()}`), 5)
    }, 10)
    const cancelled = time.setTimeout(() => fired.push('never'), 15)
    time.clearTimeout(cancelled)
    time.advance(14)
    assert.deepEqual(fired, ['a@1010'])
    time.advance(100)
    assert.deepEqual(fired, ['a@1010', 'c@1015', 'b@1020'])
    assert.equal(time.now(), 1114)
    assert.equal(time.pendingCount, 0)
  })
})

describe('systemTimers', () => {
  it('runs a callback after the delay and can cancel one', async () => {
    const cancelled = systemTimers.setTimeout(() => assert.fail('cancelled timer fired'), 1)
    systemTimers.clearTimeout(cancelled)
    await new Promise<void>((resolve) => systemTimers.setTimeout(resolve, 1))
  })
})
