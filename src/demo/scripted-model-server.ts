/**
 * @module A stand-in of the Anthropic Messages API on 127.0.0.1, for driving the REAL Claude Code CLI with no model
 * behind it (PROTOCOLS.md, "Driving the real CLIs offline"): `autodev demo` points Claude Code at it
 * (`ANTHROPIC_BASE_URL`) to play its recorded sessions, and the tests use it to play scripted agents. It is never a
 * live model: every answer comes from a script. HEAD / answers 200, POST /v1/messages answers SSE (message_start ...
 * message_stop) or JSON, /v1/messages/count_tokens a count. Requests that offer tools are the agent's turns; a script
 * picks the reply (scripted-claude.ts reads the conversation; simple tests count the tool_result blocks already in
 * `messages`). Other requests (titles, summaries) get a short text.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface MessagesRequest {
  model?: string;
  stream?: boolean;
  tools?: { name?: string }[];
  messages?: { role: string; content: unknown }[];
  [key: string]: unknown;
}

/** Token counts of one answer, as the Messages API reports them. */
export interface MessagesUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/**
 * One answer: a text, or a tool call (optionally preceded by a text, `preface`); either may open with a thinking
 * block. `usage` is what the answer reports (default: the server's).
 */
export type ScriptedReply = (
  | { kind: 'text'; text: string }
  | { kind: 'tool_use'; id: string; name: string; input: Record<string, unknown>; preface?: string }
) & { thinking?: string; usage?: MessagesUsage };

/** A reply the server never sends: the request stays open until the client goes away (a model that hangs). */
export type StallReply = { kind: 'stall' };

export type MessagesScript = (request: MessagesRequest, step: number) => ScriptedReply | StallReply;

export interface ScriptedModelServerOptions {
  /** What answers report when their reply names no usage (default 100 in / 20 out). */
  usage?: MessagesUsage;
  /** A pause before each agent turn's answer, to look like a model thinking (default 0). */
  delayMs?: number;
}

export interface ScriptedModelServer {
  baseUrl: string;
  /** The agent's turns (requests that offered tools). */
  agentRequests: MessagesRequest[];
  close(): Promise<void>;
}

const DEFAULT_USAGE: MessagesUsage = {
  input_tokens: 100,
  output_tokens: 20,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
};

function toolResultCount(request: MessagesRequest): number {
  let count = 0;
  for (const message of request.messages ?? []) {
    if (Array.isArray(message.content)) {
      count += message.content.filter((block: { type?: string }) => block?.type === 'tool_result').length;
    }
  }
  return count;
}

/** The answer's content blocks, in order. A thinking block carries a placeholder signature (no model signed it). */
function contentBlocks(reply: ScriptedReply): Record<string, unknown>[] {
  const blocks: Record<string, unknown>[] = [];
  if (reply.thinking) blocks.push({ type: 'thinking', thinking: reply.thinking, signature: STAND_IN_SIGNATURE });
  if (reply.kind === 'text') blocks.push({ type: 'text', text: reply.text });
  else {
    if (reply.preface) blocks.push({ type: 'text', text: reply.preface });
    blocks.push({ type: 'tool_use', id: reply.id, name: reply.name, input: reply.input });
  }
  return blocks;
}

const STAND_IN_SIGNATURE = 'scripted-stand-in';

function writeStream(
  res: http.ServerResponse,
  id: string,
  model: string,
  reply: ScriptedReply,
  usage: MessagesUsage,
): void {
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
      usage: { ...usage, output_tokens: Math.min(1, usage.output_tokens) },
    },
  });
  contentBlocks(reply).forEach((block, index) => {
    if (block.type === 'thinking') {
      send({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      send({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: block.thinking } });
      send({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: block.signature } });
    } else if (block.type === 'text') {
      send({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      send({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } });
    } else {
      send({ type: 'content_block_start', index, content_block: { ...block, input: {} } });
      send({
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
      });
    }
    send({ type: 'content_block_stop', index });
  });
  send({
    type: 'message_delta',
    delta: { stop_reason: reply.kind === 'text' ? 'end_turn' : 'tool_use', stop_sequence: null },
    usage: { output_tokens: usage.output_tokens },
  });
  send({ type: 'message_stop' });
  res.end();
}

export async function startScriptedModelServer(
  script: MessagesScript,
  options: ScriptedModelServerOptions = {},
): Promise<ScriptedModelServer> {
  const defaultUsage = options.usage ?? DEFAULT_USAGE;
  const agentRequests: MessagesRequest[] = [];
  let counter = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => void answer());
    const answer = async () => {
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
      let reply: ScriptedReply = { kind: 'text', text: 'ok' };
      if (isAgentTurn) {
        agentRequests.push(body);
        const scripted = script(body, toolResultCount(body));
        if (scripted.kind === 'stall') return;
        reply = scripted;
        if (options.delayMs) await sleep(options.delayMs);
        if (res.destroyed) return;
      }
      const usage = reply.usage ?? defaultUsage;
      if (body.stream) {
        writeStream(res, id, model, reply, usage);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: contentBlocks(reply),
          stop_reason: reply.kind === 'text' ? 'end_turn' : 'tool_use',
          stop_sequence: null,
          usage,
        }),
      );
    };
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
