// Handing buffer memory back to its producer once a consumer is done with it. Memory of a dead
// ArrayBuffer returns to the system only when V8 collects it, lazily (an isolate lets tens of MB of
// dead buffers pile up), and 1 MiB buffers made on one thread and dropped on another grew each
// worker's malloc arena to ~50 MB: a 2 GB layer pack peaked at 205-245 MB. A producer marks a
// buffer recyclable; the last consumer calls recycle() when it no longer needs the bytes.
const GIVE_BACK = Symbol('tsbuild.giveBack');

type Marked = Buffer & { [GIVE_BACK]?: (b: Buffer) => void };

/** Mark `buf` so that recycle(buf) hands it to `giveBack` (once). Returns buf. */
export function recyclable(buf: Buffer, giveBack: (b: Buffer) => void): Buffer {
  (buf as Marked)[GIVE_BACK] = giveBack;
  return buf;
}

/** The caller is done with `buf` and nobody else holds it: give it back if it is recyclable. */
export function recycle(buf: Buffer): void {
  const giveBack = (buf as Marked)[GIVE_BACK];
  if (!giveBack) return;
  delete (buf as Marked)[GIVE_BACK];
  giveBack(buf);
}
