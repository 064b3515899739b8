import { createPubSubTransport } from '@tributary/messagepipeline/pubsub';
import { runApp } from '@tributary/runtime';
import { composeSqlSink } from './app.js';
import { SqlSinkEnv } from './config.js';

await runApp({
  name: 'sql-sink',
  schema: SqlSinkEnv,
  compose: (config, context) =>
    composeSqlSink(config, {
      ...context,
      transport: createPubSubTransport({
        projectId: config.GOOGLE_CLOUD_PROJECT,
        logger: context.logger,
      }),
    }),
});
