import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * Finds a TCP port that is free right now on `host`, by listening on port 0 and closing again.
 * Another process may take it before the caller binds it; launchers retry on that race.
 */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return port;
}
