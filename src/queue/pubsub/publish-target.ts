/**
 * The Pub/Sub REST `topics.publish` call as a scheduler's publish target: the
 * request a fired Cloud Task sends. No client library is loaded here.
 */
import type { PublishTarget } from '../../scheduler/publish-target.js';
import type { OutboundMessage } from '../backend.js';
import { type PubSubBackendConfig, topicForPriority, topicResourceName } from './topics.js';

/** OAuth scope of the token that authorises the publish request. */
export const PUBSUB_PUBLISH_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * The Pub/Sub REST publish URL of a topic (short name, or `projects/P/topics/T`
 * as PUBSUB_TOPIC_* also accepts).
 */
export function pubsubPublishUrl(restEndpoint: string, project: string, topic: string): string {
  const base = restEndpoint.replace(/\/+$/, '');
  const path = topicResourceName(project, topic).split('/').map(encodeURIComponent).join('/');
  return `${base}/v1/${path}:publish`;
}

/**
 * Body of the Pub/Sub REST `topics.publish` call: exactly the data and
 * attributes an immediate publish of the message sends.
 */
export function pubsubPublishBody(message: OutboundMessage): Buffer {
  const body = {
    messages: [{ data: message.data.toString('base64'), attributes: { ...message.attributes } }],
  };
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** The topics of `config`, published to through the REST API at `restEndpoint`. */
export function createPubSubPublishTarget(
  config: PubSubBackendConfig,
  restEndpoint: string,
): PublishTarget {
  return {
    kind: 'pubsub',
    url: (priority) =>
      pubsubPublishUrl(restEndpoint, config.project, topicForPriority(config, priority)),
    body: pubsubPublishBody,
    headers: { 'Content-Type': 'application/json' },
    oauthScope: PUBSUB_PUBLISH_SCOPE,
  };
}
