import { createPubSubTransport } from '@tributary/messagepipeline/pubsub';
import { runApp } from '@tributary/runtime';
import { composeArchiver } from './app.js';
import { ArchiverEnv } from './config.js';

await runApp({
  name: 'archiver',
  schema: ArchiverEnv,
  compose: (config, context) =>
    composeArchiver(config, {
      ...context,
      transport: createPubSubTransport({
        projectId: config.GOOGLE_CLOUD_PROJECT,
        logger: context.logger,
      }),
    }),
});
