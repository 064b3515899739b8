import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

/** Default time one probe may take. */
const PROBE_TIMEOUT_MS = 1_000;

/** Sends one HTTP request and returns status and body; rejects on connection errors or timeout. */
export async function httpRequest(
  url: string,
  method = 'GET',
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<{ readonly status: number; readonly body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** True when `GET <baseUrl>/` answers 200 with body `Ok` (both Google emulators do this). */
export async function answersOk(baseUrl: string): Promise<boolean> {
  try {
    const { status, body } = await httpRequest(`${baseUrl}/`);
    return status === 200 && body.trim() === 'Ok';
  } catch {
    return false;
  }
}

/** Opens a TCP connection, writes `payload` and resolves with the first bytes answered. */
async function exchange(
  host: string,
  port: number,
  payload: Buffer,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('timed out')));
    socket.once('connect', () => socket.write(payload));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data);
    });
    socket.once('error', reject);
    socket.once('close', () => {
      reject(new Error('closed before answering'));
    });
  });
}

/** True when a Redis server answers `PING` (also when it demands auth: it is still Redis). */
export async function answersRedisPing(
  host: string,
  port: number,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<boolean> {
  try {
    const answer = (await exchange(host, port, Buffer.from('PING\r\n'), timeoutMs)).toString();
    return answer.startsWith('+PONG') || answer.startsWith('-NOAUTH');
  } catch {
    return false;
  }
}

/**
 * Sends one inline Redis command (`CLUSTER INFO`, words separated by spaces, no quoting) and
 * resolves with the first bytes of the reply as text; rejects when the server does not answer.
 */
export async function sendRedisCommand(
  host: string,
  port: number,
  command: string,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<string> {
  return (await exchange(host, port, Buffer.from(`${command}\r\n`), timeoutMs)).toString();
}

/** An MQTT 3.1.1 CONNECT packet with a clean session and a random client id. */
function mqttConnectPacket(): Buffer {
  const clientId = Buffer.from(`tributary-probe-${randomBytes(4).toString('hex')}`);
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x0a]);
  const payload = Buffer.concat([Buffer.from([0x00, clientId.length]), clientId]);
  const remaining = variable.length + payload.length;
  return Buffer.concat([Buffer.from([0x10, remaining]), variable, payload]);
}

/** True when an MQTT broker accepts a CONNECT (CONNACK with return code 0). */
export async function answersMqttConnect(
  host: string,
  port: number,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<boolean> {
  try {
    const answer = await exchange(host, port, mqttConnectPacket(), timeoutMs);
    return answer[0] === 0x20 && answer[3] === 0x00;
  } catch {
    return false;
  }
}
