// An agent's conversation with taskapi's /mcp through the official TypeScript SDK
// client (the one Node agents use), printed as a JSON transcript for
// tests/mcp/test_mcp_clients.py to assert on. The SDK's client itself checks every
// structuredContent against its tool's outputSchema (it throws on a mismatch).
//
//   node conversation.mjs  (reads MCP_URL, ACCESS_TOKEN, SIGN_IN_TOKEN, TOKEN_ID)
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const { MCP_URL, ACCESS_TOKEN, SIGN_IN_TOKEN, TOKEN_ID } = process.env;
const answers = []; // every HTTP answer of /mcp: its status and challenge

async function recordingFetch(url, init) {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30000) });
  answers.push({
    status: response.status,
    www_authenticate: response.headers.get("www-authenticate"),
  });
  return response;
}

const transport = new StreamableHTTPClientTransport(new URL(`${MCP_URL}/mcp`), {
  requestInit: { headers: { Authorization: `Bearer ${ACCESS_TOKEN}` } },
  fetch: recordingFetch,
});
const client = new Client({ name: "taskapi-test-agent", version: "1.0.0" });
const transcript = { client: "typescript", steps: [] };

async function call(name, args) {
  const result = await client.callTool({ name, arguments: args });
  transcript.steps.push({
    tool: name,
    arguments: args,
    isError: result.isError ?? false,
    structuredContent: result.structuredContent ?? null,
    text: result.content.map((item) => item.text).join("\n"),
  });
  return result.structuredContent;
}

await client.connect(transport);
transcript.tools = (await client.listTools()).tools;

const added = await call("add_tasks", {
  tasks: [
    { title: "Buy milk", priority: "high" },
    { title: "Call mum" },
    { title: "Water plants", tags: ["home"] },
  ],
});
const ids = added.tasks.map((task) => task.id);
let page = await call("find_tasks", { sort: "title", limit: 2 });
while (page.next_cursor) {
  page = await call("find_tasks", { sort: "title", limit: 2, cursor: page.next_cursor });
}
await call("complete_tasks", { ids: ids.slice(0, 2) });
const found = await call("search", { query: "plants" });
await call("fetch", { id: found.results[0].id });
await call("quick_add", { text: "Pay rent tomorrow at 9am p1 @bills", timezone: "Europe/Berlin" });
await call("delete_tasks", { ids: [ids[1]] });
await call("find_tasks", { sort: "title" });

// The token is revoked mid-conversation: the next request is an HTTP 401.
const revoked = await fetch(`${MCP_URL}/api/tokens/${TOKEN_ID}`, {
  method: "DELETE",
  headers: { Authorization: `Bearer ${SIGN_IN_TOKEN}` },
  signal: AbortSignal.timeout(30000),
});
transcript.revoked = revoked.status;
try {
  await call("find_tasks", {});
  transcript.after_revocation = { error: null };
} catch (error) {
  transcript.after_revocation = {
    error: error.constructor.name,
    code: error.code ?? null,
    ...answers.at(-1),
  };
}
await client.close().catch(() => {});
process.stdout.write(JSON.stringify(transcript));
