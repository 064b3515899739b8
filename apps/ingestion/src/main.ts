import { createPubSubTransport } from '@tributary/messagepipeline/pubsub';
import { runApp } from '@tributary/runtime';
import { composeIngestion } from './app.js';
import { IngestionEnv } from './config.js';

await runApp({
  name: 'ingestion',
  schema: IngestionEnv,
  compose: (config, context) =>
    composeIngestion(config, {
      ...context,
      transport: createPubSubTransport({
        projectId: config.GOOGLE_CLOUD_PROJECT,
        logger: context.logger,
      }),
    }),
});
