/**
 * Preloaded into both servers (`node --import`) by the bench: on SIGUSR2 it
 * writes one line `MEMORY {json}` to stderr with process.memoryUsage() and
 * V8's heap spaces, so the report can say where a server's RSS goes (V8 heap
 * by space, external and array buffers, and the rest: code, native
 * libraries, allocator). It costs nothing until signalled.
 */
import v8 from 'node:v8';

process.on('SIGUSR2', () => {
  const spaces = Object.fromEntries(
    v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size]),
  );
  process.stderr.write(`MEMORY ${JSON.stringify({ ...process.memoryUsage(), spaces })}\n`);
});
