/**
 * The floor of Connect in Node: a bare @connectrpc/connect-node server on
 * node:http2 (h2c), answering Enqueue and EnqueueBulk with a constant, the
 * way a Connect service is normally written (protobuf-es schemas from
 * src/gen-es). The Connect rows compare Jack over Connect with it, to tell
 * the cost of Jack's HTTP adapter from the cost of the Connect stack.
 * env: GRPC_PORT (it answers gRPC too, which the bench's start-up probe speaks).
 */
import http2 from 'node:http2';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { BackgroundJobs } from '../dist/gen-es/jack/jack_pb.js';

const port = Number(process.env.GRPC_PORT ?? 50051);
// A constant of the length of a real job id.
const JOB_ID = `pjob_${'0'.repeat(29)}`;

const handler = connectNodeAdapter({
  routes(router) {
    router.service(BackgroundJobs, {
      enqueue: () => ({ jobId: JOB_ID }),
      enqueueBulk: (request) => ({
        results: request.jobs.map((_, index) => ({ index, jobId: JOB_ID })),
      }),
    });
  },
});
const server = http2.createServer(handler);
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  // Constant answers never fail; the bench checks this line like the gRPC baseline's.
  process.stderr.write('baseline failed calls: 0\n');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1_000).unref();
});
