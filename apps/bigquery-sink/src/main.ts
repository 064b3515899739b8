import { createPubSubTransport } from '@tributary/messagepipeline/pubsub';
import { runApp } from '@tributary/runtime';
import { composeBigQuerySink } from './app.js';
import { BigQuerySinkEnv } from './config.js';

await runApp({
  name: 'bigquery-sink',
  schema: BigQuerySinkEnv,
  compose: (config, context) =>
    composeBigQuerySink(config, {
      ...context,
      transport: createPubSubTransport({
        projectId: config.GOOGLE_CLOUD_PROJECT,
        logger: context.logger,
      }),
    }),
});
