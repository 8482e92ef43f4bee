// A small frontend calling taskapi the way a Next.js app on another origin does:
// fetch() with a bearer token, `Content-Type: application/json` on every request.
// tests/web/test_browser.py serves this page and opens
//   tasks.html?api=<API base URL>&token=<JWT>&run=<unique id>
// then reads what each step shows: <li id="step-NAME"> with a one-line summary and
// the result as JSON (status, the headers below as the page can read them, body),
// or the error fetch() rejected with. `<p id="done">` appears when the page is done.

const params = new URLSearchParams(location.search);
const API = params.get("api");
const TOKEN = params.get("token");
const RUN = params.get("run") || String(Date.now());
// What the page tries to read; a header the API does not expose reads as null.
const HEADERS = [
  "etag",
  "location",
  "x-total-count",
  "link",
  "x-pagination",
  "x-request-id",
  "content-type",
];

document.getElementById("api").textContent = API;
document.getElementById("origin").textContent = location.origin;

class Blocked extends Error {}

function show(step, method, path, result) {
  const item = document.createElement("li");
  item.id = `step-${step}`;
  const name = document.createElement("strong");
  name.textContent = step;
  const request = document.createElement("code");
  request.textContent = ` ${method} ${path} → `;
  const summary = document.createElement("span");
  summary.className = "summary";
  if (result.error) {
    summary.textContent = `${result.error.name}: ${result.error.message}`;
  } else {
    const detail = result.body && result.body.detail ? ` ${result.body.detail}` : "";
    summary.textContent = `${result.status}${detail}`;
  }
  const json = document.createElement("pre");
  json.className = "result";
  json.textContent = JSON.stringify(result, null, 2);
  item.append(name, request, summary, json);
  document.getElementById("steps").append(item);
}

async function call(step, method, path, { body, headers } = {}) {
  const init = {
    method,
    headers: {
      Authorization: `Bearer ${TOKEN}`,
      "Content-Type": "application/json",
      ...headers,
    },
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  let result;
  try {
    const response = await fetch(API + path, init);
    const text = await response.text();
    let parsed = text || null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: shown as the text it is
    }
    result = { status: response.status, headers: {}, body: parsed };
    for (const name of HEADERS) result.headers[name] = response.headers.get(name);
  } catch (error) {
    // A network failure, or the browser refusing the answer (CORS): the page
    // learns nothing but that fetch() rejected.
    result = { error: { name: error.name, message: error.message } };
  }
  show(step, method, path, result);
  if (result.error) throw new Blocked(step);
  return result;
}

async function lifecycle() {
  const milk = { title: "Buy milk 🥛", priority: "HIGH", tags: ["Home", "errands"] };
  const key = { "Idempotency-Key": `create-milk-${RUN}` };
  const created = await call("create", "POST", "/api/tasks", { body: milk, headers: key });
  if (created.status !== 201) return; // e.g. 401: the page has shown why
  await call("replay", "POST", "/api/tasks", { body: milk, headers: key });
  await call("create-second", "POST", "/api/tasks", { body: { title: "Call mum" } });
  await call("list", "GET", "/api/tasks?per_page=1");

  const url = `/api/tasks/${created.body.id}`;
  const read = await call("read", "GET", url);
  const tag = read.headers.etag;
  await call("revalidate", "GET", url, { headers: { "If-None-Match": tag } });
  const updated = await call("update", "PUT", url, {
    body: { title: "Buy oat milk" },
    headers: { "If-Match": tag },
  });
  // Another tab still holds the old tag: its write must fail, readably.
  await call("stale-update", "PATCH", url, {
    body: { priority: "low" },
    headers: { "If-Match": tag },
  });
  await call("toggle", "PATCH", `${url}/complete`, {
    headers: { "If-Match": updated.headers.etag },
  });
  await call("delete", "DELETE", url);
  await call("gone", "GET", url);
}

const done = document.createElement("p");
done.id = "done";
lifecycle()
  .then(() => (done.textContent = "finished"))
  .catch((error) => {
    done.textContent =
      error instanceof Blocked ? `stopped at ${error.message}` : `page error: ${error}`;
  })
  .finally(() => document.body.append(done));
