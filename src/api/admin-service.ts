/**
 * jack.AdminService over gRPC: a thin adapter from wire messages to the
 * admin domain (src/admin/), which holds every rule.
 */
import { type AdminDeps, createAdmin } from '../admin/admin.js';
import type { AdminServiceServer } from '../gen/jack/admin.js';
import { type HandlerDeps, unary } from './handler.js';

export interface AdminServiceDeps extends HandlerDeps, AdminDeps {}

export function createAdminService(deps: AdminServiceDeps): AdminServiceServer {
  const admin = createAdmin(deps);
  return {
    createProducer: unary(deps, 'CreateProducer', async (request) => ({
      producer: await admin.createProducer(request),
    })),
    getProducer: unary(deps, 'GetProducer', async (request) => ({
      producer: admin.getProducer(request.producerId),
    })),
    listProducers: unary(deps, 'ListProducers', async (request) => {
      const page = admin.listProducers(request);
      return { producers: page.items, nextPageToken: page.nextPageToken };
    }),
    updateProducer: unary(deps, 'UpdateProducer', async (request) => ({
      producer: await admin.updateProducer(request),
    })),
    deleteProducer: unary(deps, 'DeleteProducer', async (request) => {
      await admin.deleteProducer(request.producerId);
      return {};
    }),

    createJobType: unary(deps, 'CreateJobType', async (request) => ({
      jobType: await admin.createJobType(request),
    })),
    getJobType: unary(deps, 'GetJobType', async (request) => ({
      jobType: admin.getJobType(request.producerId, request.name),
    })),
    listJobTypes: unary(deps, 'ListJobTypes', async (request) => {
      const page = admin.listJobTypes(request);
      return { jobTypes: page.items, nextPageToken: page.nextPageToken };
    }),
    updateJobType: unary(deps, 'UpdateJobType', async (request) => ({
      jobType: await admin.updateJobType(request),
    })),
    deleteJobType: unary(deps, 'DeleteJobType', async (request) => {
      await admin.deleteJobType(request.producerId, request.name);
      return {};
    }),

    createApiKey: unary(deps, 'CreateApiKey', (request) => admin.createApiKey(request)),
    listApiKeys: unary(deps, 'ListApiKeys', async (request) => ({
      apiKeys: admin.listApiKeys(request.producerId),
    })),
    revokeApiKey: unary(deps, 'RevokeApiKey', async (request) => {
      await admin.revokeApiKey(request.keyId);
      return {};
    }),
  };
}
