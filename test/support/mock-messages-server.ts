/**
 * @module A tiny Anthropic Messages API on 127.0.0.1 for driving the real Claude Code CLI offline (PROTOCOLS.md,
 * "Driving the real CLIs offline"): HEAD / answers 200, POST /v1/messages answers SSE (message_start ...
 * message_stop) or JSON, /v1/messages/count_tokens a count. Requests that offer tools are the agent's turns; a script
 * picks the reply from the number of tool_result blocks already in `messages`. Other requests (titles, summaries) get
 * a short text. A `stall` reply is never answered: the request stays open until the client goes away or the server
 * closes (a model that hangs, for the watcher's time limit).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MessagesRequest {
  model?: string;
  stream?: boolean;
  tools?: { name?: string }[];
  messages?: { role: string; content: unknown }[];
  [key: string]: unknown;
}

export type ScriptedReply =
  | { kind: 'text'; text: string }
  | { kind: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { kind: 'stall' };

type AnsweredReply = Exclude<ScriptedReply, { kind: 'stall' }>;

export type MessagesScript = (request: MessagesRequest, step: number) => ScriptedReply;

export interface MockMessagesServer {
  baseUrl: string;
  /** The agent's turns (requests that offered tools). */
  agentRequests: MessagesRequest[];
  close(): Promise<void>;
}

const USAGE = { input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

function toolResultCount(request: MessagesRequest): number {
  let count = 0;
  for (const message of request.messages ?? []) {
    if (Array.isArray(message.content)) {
      count += message.content.filter((block: { type?: string }) => block?.type === 'tool_result').length;
    }
  }
  return count;
}

function contentBlock(reply: AnsweredReply): Record<string, unknown> {
  return reply.kind === 'text'
    ? { type: 'text', text: reply.text }
    : { type: 'tool_use', id: reply.id, name: reply.name, input: reply.input };
}

function writeStream(res: http.ServerResponse, id: string, model: string, reply: AnsweredReply): void {
  const send = (event: Record<string, unknown>) =>
    res.write(`event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  send({
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...USAGE, output_tokens: 1 },
    },
  });
  if (reply.kind === 'text') {
    send({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    send({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: reply.text } });
  } else {
    send({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'tool_use', id: reply.id, name: reply.name, input: {} },
    });
    send({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'input_json_delta', partial_json: JSON.stringify(reply.input) },
    });
  }
  send({ type: 'content_block_stop', index: 0 });
  send({
    type: 'message_delta',
    delta: { stop_reason: reply.kind === 'text' ? 'end_turn' : 'tool_use', stop_sequence: null },
    usage: { output_tokens: USAGE.output_tokens },
  });
  send({ type: 'message_stop' });
  res.end();
}

export async function startMockMessagesServer(script: MessagesScript): Promise<MockMessagesServer> {
  const agentRequests: MessagesRequest[] = [];
  let counter = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '/';
      if (req.method === 'HEAD' || (req.method === 'GET' && url === '/')) {
        res.writeHead(200);
        res.end();
        return;
      }
      let body: MessagesRequest = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as MessagesRequest;
      } catch {
        res.writeHead(400);
        res.end();
        return;
      }
      if (url.startsWith('/v1/messages/count_tokens')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ input_tokens: 100 }));
        return;
      }
      if (req.method !== 'POST' || !url.startsWith('/v1/messages')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            type: 'error',
            error: { type: 'not_found_error', message: `no route ${req.method} ${url}` },
          }),
        );
        return;
      }
      counter += 1;
      const id = `msg_mock${counter}`;
      const model = body.model ?? 'claude-sonnet-4-5';
      const isAgentTurn = (body.tools ?? []).length > 0;
      let reply: AnsweredReply = { kind: 'text', text: 'ok' };
      if (isAgentTurn) {
        agentRequests.push(body);
        const scripted = script(body, toolResultCount(body));
        if (scripted.kind === 'stall') return;
        reply = scripted;
      }
      if (body.stream) {
        writeStream(res, id, model, reply);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: [contentBlock(reply)],
          stop_reason: reply.kind === 'text' ? 'end_turn' : 'tool_use',
          stop_sequence: null,
          usage: USAGE,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    agentRequests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
