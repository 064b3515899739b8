import { describe, expect, it } from 'vitest';
import { caught, serveThisFile, uniqueName } from './test-support/bigquery-client.js';

const local = serveThisFile();

describe('REST methods this server does not implement', () => {
  it('answer 501 notImplemented, not a 404 that reads like a missing resource', async () => {
    const [dataset] = await local.bq.createDataset(uniqueName('ni'));
    const error = await caught(() => dataset.getModels());
    expect(error['code']).toBe(501);
    expect(error.message).toMatch(/is not implemented by the local BigQuery server$/);
  });
});
