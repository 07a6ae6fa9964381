/**
 * @module A local HTTP receiver standing in for a notification webhook endpoint (Slack or any JSON receiver): it
 * records each POST (path, Authorization header, JSON body) and answers with the next planned status (200 once the
 * plan is used up), optionally holding each request until `hold` resolves. Used by the notifier tests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  plan: number[] = [];
  /** When set, requests wait for it before being answered. */
  hold: Promise<void> | undefined;
  private readonly server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      void (async () => {
        await this.hold;
        this.received.push({
          path: request.url ?? '',
          authorization: request.headers.authorization,
          body: JSON.parse(text) as Record<string, unknown>,
        });
        response.statusCode = this.plan.shift() ?? 200;
        response.end('ok');
      })();
    });
  });
  port = 0;
  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }
  async close() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
