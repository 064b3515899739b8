import { createPubSubTransport } from '@tributary/messagepipeline/pubsub';
import { runApp } from '@tributary/runtime';
import { composeHttpIngest } from './app.js';
import { HttpIngestEnv } from './config.js';

await runApp({
  name: 'http-ingest',
  schema: HttpIngestEnv,
  compose: (config, context) =>
    composeHttpIngest(config, {
      ...context,
      transport: createPubSubTransport({
        projectId: config.GOOGLE_CLOUD_PROJECT,
        logger: context.logger,
      }),
    }),
});
