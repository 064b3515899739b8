// Shared by the enrichment benchmarks.
import {
  decodeEnvelope,
  emit,
  encodeEnvelope,
  type OutgoingMessage,
  type Transformer,
} from '@tributary/messagepipeline';
import type { Reference } from '../src/index.js';

/**
 * The raw baseline of the stage: the same envelope work as the enricher without the lookup
 * (unwrap, attach `constant` under `enrichment.device`, lift its `location` into the attributes).
 */
export function constantEnrichment(
  constant: Reference & { readonly location: string },
): Transformer<OutgoingMessage> {
  return (message) => {
    const input = decodeEnvelope(message);
    return emit(
      encodeEnvelope({
        data: input.data,
        attributes: { ...input.attributes, location: constant.location },
        orderingKey: input.orderingKey,
        enrichment: { ...input.enrichment, device: constant },
      }),
    );
  };
}
