#!/usr/bin/env node
// A deliberately naive SSE client, written the way the existing React and Vue front ends read the
// Chorus stream (issue 3): fetch, a body reader, and for each chunk received: split on "\n" and
// JSON.parse every line that starts with "data: " (except "[DONE]"). Nothing is buffered across
// chunks, so an event split over two chunks shows up here as a parse error.
//
// Usage:
//   node tools/naive_client.mjs URL [JSON_BODY]
//     with JSON_BODY: POST it as application/json; without: GET URL (EventSource-style query).
//
// Prints every parsed event as one JSON line on stdout; diagnostics go to stderr.
// Exit status: 0 only when the stream began with "start", contained "complete", ended with
// "data: [DONE]" (nothing after it) and no line failed to parse; 1 otherwise; 2 on a non-2xx
// status or a network error.
// Node 20, no dependencies.

const [url, body] = process.argv.slice(2);
if (!url) {
  console.error("usage: node tools/naive_client.mjs URL [JSON_BODY]");
  process.exit(2);
}

let response;
try {
  response = await fetch(url, body === undefined
    ? { method: "GET", headers: { Accept: "text/event-stream" } }
    : { method: "POST", headers: { "Content-Type": "application/json", Accept: "text/event-stream" }, body });
} catch (error) {
  console.error(`naive_client: request failed: ${error}`);
  process.exit(2);
}
if (!response.ok) {
  console.error(`naive_client: HTTP ${response.status}: ${await response.text()}`);
  process.exit(2);
}

const reader = response.body.getReader();
const decoder = new TextDecoder();
let chunks = 0;
let parseErrors = 0;
let sawDone = false;
let afterDone = 0;
const types = [];

for (;;) {
  const { done, value } = await reader.read();
  if (done) break;
  chunks += 1;
  // The naive part: each chunk on its own, split on "\n", no carry-over of a partial line.
  const text = decoder.decode(value);
  for (const line of text.split("\n")) {
    if (!line.startsWith("data: ")) continue;
    const data = line.slice("data: ".length);
    if (sawDone) afterDone += 1;
    if (data === "[DONE]") {
      sawDone = true;
      continue;
    }
    try {
      const event = JSON.parse(data);
      types.push(event.event_type);
      process.stdout.write(JSON.stringify(event) + "\n");
    } catch (error) {
      parseErrors += 1;
      console.error(`naive_client: chunk ${chunks}: cannot parse ${JSON.stringify(data)}: ${error.message}`);
    }
  }
}

const problems = [];
if (types[0] !== "start") problems.push(`first event is ${types[0]}, not start`);
if (!types.includes("complete")) problems.push("no complete event");
if (!sawDone) problems.push("no [DONE]");
if (afterDone > 0) problems.push(`${afterDone} data line(s) after [DONE]`);
if (parseErrors > 0) problems.push(`${parseErrors} parse error(s)`);
console.error(`naive_client: ${types.length} events in ${chunks} chunks${problems.length ? "; " + problems.join("; ") : ""}`);
process.exit(problems.length ? 1 : 0);
