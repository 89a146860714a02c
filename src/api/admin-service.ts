/**
 * jack.AdminService over gRPC: a thin adapter from wire messages to the
 * admin domain (src/admin/), which holds every rule.
 */
import { type AdminDeps, createAdmin } from '../admin/admin.js';
import type { AdminServiceService } from '../gen/jack/admin.js';
import type { ServiceHandlers } from './pipeline.js';

export type AdminServiceDeps = AdminDeps;

export function createAdminService(
  deps: AdminServiceDeps,
): ServiceHandlers<typeof AdminServiceService> {
  const admin = createAdmin(deps);
  return {
    async createProducer(request) {
      return { producer: await admin.createProducer(request) };
    },
    async getProducer(request) {
      return { producer: admin.getProducer(request.producerId) };
    },
    async listProducers(request) {
      const page = admin.listProducers(request);
      return { producers: page.items, nextPageToken: page.nextPageToken };
    },
    async updateProducer(request) {
      return { producer: await admin.updateProducer(request) };
    },
    async deleteProducer(request) {
      await admin.deleteProducer(request.producerId);
      return {};
    },

    async createJobType(request) {
      return { jobType: await admin.createJobType(request) };
    },
    async getJobType(request) {
      return { jobType: admin.getJobType(request.producerId, request.name) };
    },
    async listJobTypes(request) {
      const page = admin.listJobTypes(request);
      return { jobTypes: page.items, nextPageToken: page.nextPageToken };
    },
    async updateJobType(request) {
      return { jobType: await admin.updateJobType(request) };
    },
    async deleteJobType(request) {
      await admin.deleteJobType(request.producerId, request.name);
      return {};
    },

    createApiKey: (request) => admin.createApiKey(request),
    async listApiKeys(request) {
      const page = admin.listApiKeys(request);
      return { apiKeys: page.items, nextPageToken: page.nextPageToken };
    },
    async revokeApiKey(request) {
      await admin.revokeApiKey(request.keyId);
      return {};
    },
  };
}
