/** SPEC §2/§10 producer rules: ids, defaults, field limits, masks, paging, delete. */
import { randomBytes } from 'node:crypto';
import { JackError } from '../errors.js';
import { required } from '../jobs/validate.js';
import type { Producer } from '../storage/store.js';
import { maskPaths } from './field-mask.js';
import { checkDescription, checkName, checkPrincipals } from './limits.js';
import { type Page, type PageRequest, paginate } from './page-token.js';
import { type AdminDeps, withFreshId } from './rules.js';

/** rate_limit_rps of a new producer (SPEC §2). */
export const PRODUCER_RATE_LIMIT_RPS = 1000;

const UPDATE_RULES = {
  record: 'Producer',
  updatable: ['name', 'description', 'rate_limit_rps', 'principals'] as const,
  fixed: ['producer_id', 'created_at', 'updated_at'],
};

/** `prod_` + 8 lowercase hex digits (4 random bytes). */
export function newProducerId(): string {
  return `prod_${randomBytes(4).toString('hex')}`;
}

export function producerRules(deps: AdminDeps) {
  const { store } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    async createProducer(request: { name: string; description: string }): Promise<Producer> {
      required('name', request.name);
      checkName(request.name);
      checkDescription(request.description);
      const at = now();
      return withFreshId(
        newProducerId,
        (id) => store.getProducer(id) !== undefined,
        (producerId) =>
          store.createProducer({
            producerId,
            name: request.name,
            description: request.description,
            rateLimitRps: PRODUCER_RATE_LIMIT_RPS,
            principals: [],
            createdAt: at,
            updatedAt: at,
          }),
      );
    },

    getProducer(producerId: string): Producer {
      required('producer_id', producerId);
      const producer = store.getProducer(producerId);
      if (producer === undefined) {
        throw new JackError('not_found', `producer not found: ${producerId}`);
      }
      return producer;
    },

    listProducers(request: PageRequest): Page<Producer> {
      return paginate(store.listProducers(), request, 'producers', (p) => [
        p.createdAt?.getTime() ?? 0,
        p.producerId,
      ]);
    },

    async updateProducer(request: {
      producer?: Producer | undefined;
      updateMask?: readonly string[] | undefined;
    }): Promise<Producer> {
      const given = request.producer;
      if (given === undefined) throw new JackError('invalid_argument', 'producer is required');
      required('producer.producer_id', given.producerId);
      const paths = maskPaths(request.updateMask, UPDATE_RULES);
      if (paths.has('name')) {
        required('producer.name', given.name);
        checkName(given.name, 'producer.name');
      }
      if (paths.has('description')) checkDescription(given.description, 'producer.description');
      if (paths.has('principals')) {
        checkPrincipals(given.principals, 'producer.principals');
        given.principals.forEach((p, i) => {
          required(`producer.principals[${i}]`, p);
        });
      }
      const at = now();
      return store.updateProducer(given.producerId, (current) => ({
        ...current,
        ...(paths.has('name') ? { name: given.name } : {}),
        ...(paths.has('description') ? { description: given.description } : {}),
        ...(paths.has('rate_limit_rps') ? { rateLimitRps: given.rateLimitRps } : {}),
        ...(paths.has('principals') ? { principals: [...given.principals] } : {}),
        updatedAt: at,
      }));
    },

    /** Removes the producer, its job types and its API keys (the store's cascade). */
    async deleteProducer(producerId: string): Promise<void> {
      required('producer_id', producerId);
      await store.deleteProducer(producerId);
    },
  };
}
