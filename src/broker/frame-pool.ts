/**
 * Reusable buffers for assembling large Produce requests from socket reads.
 *
 * A ~1 MiB Produce arrives in many socket chunks and must be made contiguous before it is decoded. Allocating a
 * fresh buffer for each one costs more than the copy: every allocation is external memory to V8, and at several
 * hundred MiB/s of produce the external-memory limit starts a full mark-compact many times a second. A Produce
 * request's bytes are not needed once its handler has settled (the log copies the batches into its segment file
 * during the append; the response holds offsets only), so its buffer can serve the next request.
 *
 * Only Produce frames are pooled: other requests may keep slices of their frame after they are answered (JoinGroup
 * protocol metadata and SyncGroup assignments are held by the group), and would see the bytes change under them.
 */
export class FramePool {
  private free: Buffer[] = []
  private freeBytes = 0

  /**
   * @param minFrameBytes frames smaller than this are not pooled (they come from Node's shared slab anyway)
   * @param maxFrameBytes frames larger than this are not pooled, so one huge request cannot pin its buffer
   * @param maxFreeBytes total size of idle buffers kept for reuse
   */
  constructor(
    readonly minFrameBytes = 64 * 1024,
    readonly maxFrameBytes = 8 * 1024 * 1024,
    readonly maxFreeBytes = 32 * 1024 * 1024,
  ) {}

  /** Whether a frame of this size is served from the pool. */
  pools(size: number): boolean {
    return size >= this.minFrameBytes && size <= this.maxFrameBytes
  }

  /** A buffer of at least `size` bytes; its contents are arbitrary. */
  acquire(size: number): Buffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const b = this.free[i]!
      if (b.length >= size) {
        this.free.splice(i, 1)
        this.freeBytes -= b.length
        return b
      }
    }
    // Round up so that batches of slightly different sizes share buffers.
    return Buffer.allocUnsafeSlow(Math.min(this.maxFrameBytes, Math.max(size, 2 ** Math.ceil(Math.log2(size)))))
  }

  /** Gives a buffer back once nothing refers to its bytes any more. */
  release(buf: Buffer): void {
    if (this.freeBytes + buf.length > this.maxFreeBytes) return
    this.free.push(buf)
    this.freeBytes += buf.length
  }

  /** Idle buffers held (for tests). */
  get idle(): number {
    return this.free.length
  }
}
