import { createPubSubTransport } from '@tributary/messagepipeline/pubsub';
import { runApp } from '@tributary/runtime';
import { composeEnrichment } from './app.js';
import { EnrichmentEnv } from './config.js';

await runApp({
  name: 'enrichment',
  schema: EnrichmentEnv,
  compose: (config, context) =>
    composeEnrichment(config, {
      ...context,
      transport: createPubSubTransport({
        projectId: config.GOOGLE_CLOUD_PROJECT,
        logger: context.logger,
      }),
    }),
});
