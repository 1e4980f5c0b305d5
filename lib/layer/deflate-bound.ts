// Output room for one deflated block, shared by the gzip worker and the parallel gzip stream (which
// recycles output buffers of exactly this size). No worker code here: other threads import it.

/** zlib's default chunkSize. Stored (level 0) output depends on the output room zlib gets per call, so it is part of the layer format. */
export const DEFLATE_WINDOW = 16 * 1024;

/** A buffer this big always holds a block of `inputLength` bytes deflated in DEFLATE_WINDOW steps. */
export function outputRoom(inputLength: number): number {
  // Stored blocks grow by 5 bytes per 64 KiB; 4 KiB covers the flush marker and the last window.
  const bound = inputLength + (inputLength >> 6) + 4096;
  return Math.ceil(bound / DEFLATE_WINDOW) * DEFLATE_WINDOW + DEFLATE_WINDOW;
}
