// Chorus web page: asks one question to several models through the SSE bridge and shows every
// answer live, side by side. Plain JavaScript, no build step, no dependencies.
//
// Contract (see issue 3): GET /api/models, POST /api/analyze/stream/parallel answering
// `text/event-stream` with `id: <seq>` / `data: <json>` events and a final `data: [DONE]`.
// Model text is only ever inserted with text nodes (never innerHTML).
"use strict";

(() => {
  const STREAM_URL = "/api/analyze/stream/parallel";
  const MODELS_URL = "/api/models";
  const MAX_RESUME_ATTEMPTS = 3;
  const DEFAULT_SELECTION = 3;
  const KNOWN_HUES = { gemini: 217, pegasus: 268, gpt4o: 158 };

  const $ = (selector, root = document) => root.querySelector(selector);
  const el = {
    form: $("#ask-form"),
    query: $("#query"),
    models: $("#models"),
    videoId: $("#video-id"),
    indexId: $("#index-id"),
    videoPath: $("#video-path"),
    videoOptions: $("#video-options"),
    start: $("#start"),
    stop: $("#stop"),
    formMessage: $("#form-message"),
    serverStatus: $("#server-status"),
    callError: $("#call-error"),
    callErrorTitle: $("#call-error-title"),
    callErrorMessage: $("#call-error-message"),
    run: $("#run"),
    runStatus: $("#run-status"),
    progress: $("#progress"),
    progressLabel: $("#progress-label"),
    elapsed: $("#elapsed"),
    panels: $("#panels"),
    comparisonSection: $("#comparison-section"),
    comparisonBody: $("#comparison tbody"),
    emptyState: $("#empty-state"),
    panelTemplate: $("#panel-template"),
  };

  /** Registry entries from /api/models, in server order. */
  let registry = [];
  /** The current (or last) run; see `newRun`. */
  let run = null;

  // ---------------------------------------------------------------------------------------------
  // Formatting helpers

  const integerFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

  function formatMs(value) {
    if (typeof value !== "number" || !Number.isFinite(value)) return "—";
    if (value < 1000) return `${Math.round(value)} ms`;
    if (value < 60000) return `${(value / 1000).toFixed(2)} s`;
    const minutes = Math.floor(value / 60000);
    return `${minutes} min ${((value % 60000) / 1000).toFixed(0)} s`;
  }

  function formatNumber(value, digits = 0) {
    if (typeof value !== "number" || !Number.isFinite(value)) return "—";
    return digits === 0 ? integerFormat.format(value) : value.toFixed(digits);
  }

  function formatSeconds(ms) {
    return `${(ms / 1000).toFixed(1)} s`;
  }

  function countWords(text) {
    const matches = text.match(/\S+/g);
    return matches ? matches.length : 0;
  }

  function hueFor(name) {
    if (Object.prototype.hasOwnProperty.call(KNOWN_HUES, name)) return KNOWN_HUES[name];
    let hash = 0;
    for (const char of name) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
    return hash % 360;
  }

  // ---------------------------------------------------------------------------------------------
  // Server-Sent Events parsing (buffers partial lines and multi-line events across chunks)

  class SSEParser {
    constructor(onEvent) {
      this.onEvent = onEvent;
      this.buffer = "";
      this.data = [];
      this.lastEventId = null;
    }

    push(chunk) {
      this.buffer += chunk;
      let start = 0;
      let newline;
      while ((newline = this.buffer.indexOf("\n", start)) !== -1) {
        let line = this.buffer.slice(start, newline);
        if (line.endsWith("\r")) line = line.slice(0, -1);
        start = newline + 1;
        this.line(line);
      }
      this.buffer = this.buffer.slice(start);
    }

    /** The body ended: a last line without its newline and an event without its blank line still count. */
    end() {
      if (this.buffer !== "") {
        const line = this.buffer.endsWith("\r") ? this.buffer.slice(0, -1) : this.buffer;
        this.buffer = "";
        this.line(line);
      }
      this.dispatch();
    }

    line(line) {
      if (line === "") {
        this.dispatch();
        return;
      }
      if (line.startsWith(":")) return; // comment, e.g. the `: ping` heartbeat
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") this.data.push(value);
      else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
      // `event` and `retry` are not used by this contract.
    }

    dispatch() {
      if (this.data.length === 0) return;
      const data = this.data.join("\n");
      this.data = [];
      this.onEvent({ id: this.lastEventId, data });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Models

  async function loadModels() {
    setServerStatus("loading", "Connecting…");
    el.models.setAttribute("aria-busy", "true");
    el.models.replaceChildren(paragraph("Loading models…", "muted"));
    try {
      const response = await fetch(MODELS_URL, { headers: { Accept: "application/json" }, cache: "no-store" });
      const body = await readJSON(response);
      if (!response.ok) throw new Error(describeHTTPError(response, body));
      if (!body || !Array.isArray(body.models)) throw new Error("the server's model list is malformed");
      registry = body.models.filter((model) => model && typeof model.name === "string" && model.name !== "");
      renderModelList();
      const demo = registry.filter((model) => model.demo).length;
      const label = `${registry.length} model${registry.length === 1 ? "" : "s"}` +
        (demo === registry.length && demo > 0 ? " · demo" : demo > 0 ? ` · ${demo} demo` : "");
      setServerStatus("online", `Connected · ${label}`);
    } catch (error) {
      registry = [];
      const message = paragraph(`Could not load the models: ${error.message}`, "error-text");
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "btn small";
      retry.id = "models-retry";
      retry.textContent = "Retry";
      retry.addEventListener("click", loadModels);
      el.models.replaceChildren(message, retry);
      setServerStatus("offline", "Server unreachable");
    } finally {
      el.models.setAttribute("aria-busy", "false");
      updateButtons();
    }
  }

  function renderModelList() {
    if (registry.length === 0) {
      el.models.replaceChildren(paragraph("The server has no models configured.", "muted"));
      return;
    }
    let preselected = 0;
    const rows = registry.map((model) => {
      const available = model.available !== false;
      const label = document.createElement("label");
      label.className = "model-option";
      label.dataset.model = model.name;
      label.dataset.available = String(available);
      label.style.setProperty("--hue", hueFor(model.name));

      const input = document.createElement("input");
      input.type = "checkbox";
      input.name = "model";
      input.value = model.name;
      input.id = `model-${model.name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
      input.disabled = !available;
      if (available && preselected < DEFAULT_SELECTION) {
        input.checked = true;
        preselected += 1;
      }
      input.addEventListener("change", () => {
        hideFormMessage();
        updateButtons();
      });

      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.setAttribute("aria-hidden", "true");

      const text = document.createElement("span");
      text.className = "model-text";
      const name = document.createElement("span");
      name.className = "model-name";
      name.textContent = model.name;
      if (model.upstream_model && model.upstream_model !== model.name) {
        const upstream = document.createElement("span");
        upstream.className = "model-upstream";
        upstream.textContent = model.upstream_model;
        name.append(" ", upstream);
      }
      text.append(name);
      if (model.description) {
        const description = document.createElement("span");
        description.className = "model-desc";
        description.textContent = model.description;
        description.title = model.description;
        text.append(description);
      }

      const tags = document.createElement("span");
      tags.className = "model-tags";
      tags.append(tag(model.demo ? "demo" : "real", model.demo ? "tag demo" : "tag real"));
      if (!available) tags.append(tag("unavailable", "tag unavailable"));
      if (model.provider && model.provider !== "demo") tags.append(tag(model.provider, "tag provider"));

      label.append(input, swatch, text, tags);
      return label;
    });
    el.models.replaceChildren(...rows);
  }

  function selectedModels() {
    return Array.from(el.models.querySelectorAll('input[name="model"]:checked'), (input) => input.value);
  }

  function tag(text, className) {
    const span = document.createElement("span");
    span.className = className;
    span.textContent = text;
    return span;
  }

  function paragraph(text, className) {
    const p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  function setServerStatus(state, text) {
    el.serverStatus.dataset.state = state;
    $(".server-status-text", el.serverStatus).textContent = text;
  }

  // ---------------------------------------------------------------------------------------------
  // Runs

  function newRun(models, body) {
    return {
      models, // names, in panel order
      body, // the JSON request body (request_id is added when resuming)
      controller: new AbortController(),
      panels: new Map(), // name -> panel state
      state: "running", // running | completed | partial | stopped | error
      requestId: null,
      lastEventId: null,
      lastSeq: null,
      sawDone: false,
      complete: null,
      callError: null,
      startedAt: performance.now(),
      endedAt: null,
      timer: null,
      frame: 0,
    };
  }

  async function startRun() {
    if (run && run.state === "running") return;
    hideFormMessage();
    const query = el.query.value.trim();
    const models = selectedModels();
    if (query === "") {
      showFormMessage("Enter a question first.");
      el.query.focus();
      return;
    }
    if (models.length === 0) {
      showFormMessage("Select at least one model.");
      return;
    }
    const body = { query, models };
    const videoId = el.videoId.value.trim();
    const indexId = el.indexId.value.trim();
    const videoPath = el.videoPath.value.trim();
    if (indexId) body.index_id = indexId;
    if (videoId) body.video_id = videoId;
    if (videoPath) body.video_path = videoPath;

    run = newRun(models, body);
    hideCallError();
    el.panels.replaceChildren();
    for (const name of models) ensurePanel(run, name);
    el.comparisonSection.hidden = true;
    el.comparisonBody.replaceChildren();
    el.run.hidden = false;
    el.emptyState.hidden = true;
    setRunStatus(run, "running", "Running");
    updateProgress(run);
    run.timer = setInterval(() => tick(run), 100);
    tick(run);
    updateButtons();

    await streamRun(run);
  }

  function stopRun() {
    if (!run || run.state !== "running") return;
    const current = run;
    current.controller.abort();
    finishRun(current, "stopped");
  }

  async function streamRun(current) {
    let attempts = 0;
    for (;;) {
      try {
        const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
        if (current.lastEventId !== null) headers["Last-Event-ID"] = current.lastEventId;
        const response = await fetch(STREAM_URL, {
          method: "POST",
          headers,
          body: JSON.stringify(current.body),
          signal: current.controller.signal,
          cache: "no-store",
        });
        if (current.state !== "running") return;
        if (!response.ok) {
          const body = await readJSON(response);
          failBeforeStream(current, response, body);
          return;
        }
        const type = response.headers.get("Content-Type") || "";
        if (!type.includes("text/event-stream") || !response.body) {
          throw new ProtocolError(`expected an event stream, got ${type || "no content type"}`);
        }
        if (attempts > 0) setRunStatus(current, "running", "Running");
        await readStream(current, response.body);
        if (current.state !== "running") return; // stopped, or ended by [DONE]
        throw new Error("the stream ended before the server finished");
      } catch (error) {
        if (current.controller.signal.aborted || current.state !== "running") return;
        const canResume = !(error instanceof ProtocolError) && current.requestId !== null &&
          current.lastEventId !== null && attempts < MAX_RESUME_ATTEMPTS;
        if (canResume) {
          attempts += 1;
          current.body = { ...current.body, request_id: current.requestId };
          setRunStatus(current, "running", `Reconnecting (${attempts}/${MAX_RESUME_ATTEMPTS})…`);
          await sleep(400 * attempts);
          if (current.state !== "running") return;
          continue;
        }
        const reason = error instanceof TypeError
          ? "Could not reach the Chorus server (is chorusd running?)."
          : `The stream broke: ${error.message}.`;
        setCallError(current, { title: "Connection problem", message: reason });
        finishRun(current, "error");
        return;
      }
    }
  }

  async function readStream(current, stream) {
    const reader = stream.getReader();
    const decoder = new TextDecoder("utf-8");
    const parser = new SSEParser((event) => handleSSE(current, event));
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(decoder.decode(value, { stream: true }));
        // After [DONE] keep draining until the server closes; after Stop, leave at once.
        if (current.state !== "running" && !current.sawDone) break;
      }
      if (current.state === "running") {
        parser.push(decoder.decode());
        parser.end();
      }
    } finally {
      if (current.state !== "running" && !current.sawDone) {
        reader.cancel().catch(() => {});
      }
      reader.releaseLock();
    }
    if (current.sawDone && current.state === "running") finishRun(current);
  }

  function handleSSE(current, event) {
    if (current.state !== "running") return;
    if (event.data === "[DONE]") {
      current.sawDone = true;
      finishRun(current);
      return;
    }
    if (event.id !== null && event.id !== "") {
      const seq = Number(event.id);
      if (Number.isFinite(seq)) {
        if (current.lastSeq !== null && seq <= current.lastSeq) return; // already seen (resumed stream)
        current.lastSeq = seq;
      }
      current.lastEventId = event.id;
    }
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      console.warn("Chorus: ignoring a data line that is not JSON:", event.data);
      return;
    }
    if (message && typeof message === "object") handleEvent(current, message);
  }

  function handleEvent(current, message) {
    switch (message.event_type) {
      case "start": {
        if (typeof message.request_id === "string" && message.request_id !== "") current.requestId = message.request_id;
        if (Array.isArray(message.models) && message.models.length > 0) {
          const names = message.models.filter((name) => typeof name === "string");
          for (const [name, panel] of current.panels) {
            if (!names.includes(name)) {
              panel.root.remove();
              current.panels.delete(name);
            }
          }
          for (const name of names) el.panels.append(ensurePanel(current, name).root);
          current.models = names;
        }
        updateProgress(current);
        break;
      }
      case "model_start": {
        const panel = ensurePanel(current, message.model_name);
        if (!panel) break;
        if (message.provider) panel.provider.textContent = message.provider;
        if (panel.status === "waiting") setPanelStatus(current, panel, "active");
        break;
      }
      case "text_generation": {
        const panel = ensurePanel(current, message.model);
        if (!panel || typeof message.text !== "string") break;
        if (panel.status === "waiting") setPanelStatus(current, panel, "active");
        appendText(current, panel, message.text);
        break;
      }
      case "model_end": {
        const panel = ensurePanel(current, message.model_name);
        if (!panel) break;
        panel.stats = message.stats && typeof message.stats === "object" ? message.stats : {};
        panel.endedAt = performance.now();
        renderStats(panel);
        setPanelStatus(current, panel, "completed");
        break;
      }
      case "error": {
        if (typeof message.model === "string" && message.model !== "") {
          const panel = ensurePanel(current, message.model);
          if (!panel) break;
          panel.error = message;
          panel.endedAt = performance.now();
          showPanelError(panel, message);
          setPanelStatus(current, panel, "error");
        } else {
          setCallError(current, {
            title: `The call failed${message.code ? ` · ${message.code}` : ""}`,
            message: message.message || "The server reported an error without a message.",
            retryable: message.retryable,
          });
        }
        break;
      }
      case "complete":
        current.complete = message;
        break;
      default:
        break; // unknown event types are ignored (forward compatible)
    }
  }

  /** Ends the run: "stopped" by the user, "error", or (no argument) from what the stream said. */
  function finishRun(current, forced) {
    if (current.state !== "running") return;
    let state = forced;
    if (!state) {
      if (current.callError) state = "error";
      else if ([...current.panels.values()].some((panel) => panel.status === "error")) state = "partial";
      else state = "completed";
    }
    current.state = state;
    current.endedAt = performance.now();
    clearInterval(current.timer);
    for (const panel of current.panels.values()) {
      if (panel.status === "waiting" || panel.status === "active") {
        if (state === "stopped") {
          setPanelStatus(current, panel, "stopped");
        } else {
          const reason = current.callError ? current.callError.message : "The stream ended before this model finished.";
          showPanelError(panel, { message: reason, code: current.callError ? "CALL" : "INCOMPLETE" });
          setPanelStatus(current, panel, "error");
        }
      }
    }
    const labels = {
      completed: "Completed",
      partial: "Completed with errors",
      stopped: "Stopped",
      error: "Failed",
    };
    setRunStatus(current, state, labels[state]);
    tick(current);
    updateProgress(current);
    renderComparison(current);
    updateButtons();
  }

  function failBeforeStream(current, response, body) {
    const error = body && body.error && typeof body.error === "object" ? body.error : {};
    const titles = {
      400: "The request was rejected",
      413: "The request is too large",
      415: "The request has the wrong content type",
      429: "Too many requests",
      503: "The server is not accepting calls right now",
    };
    let message = error.message || response.statusText || "No details were given.";
    const retryAfter = response.headers.get("Retry-After");
    if (retryAfter) message += ` Try again in ${retryAfter} s.`;
    setCallError(current, {
      title: `${titles[response.status] || "The request failed"} · HTTP ${response.status}${error.code ? ` ${error.code}` : ""}`,
      message,
    });
    for (const panel of current.panels.values()) panel.root.remove();
    current.panels.clear();
    finishRun(current, "error");
    el.run.hidden = true;
    el.emptyState.hidden = false;
  }

  // ---------------------------------------------------------------------------------------------
  // Panels

  function ensurePanel(current, name) {
    if (typeof name !== "string" || name === "") return null;
    const existing = current.panels.get(name);
    if (existing) return existing;
    const root = el.panelTemplate.content.firstElementChild.cloneNode(true);
    root.dataset.model = name;
    root.style.setProperty("--hue", hueFor(name));
    $(".panel-title", root).textContent = name;
    const info = registry.find((model) => model.name === name);
    const provider = $(".provider-tag", root);
    provider.textContent = info ? (info.demo ? "demo" : info.provider || "real") : "";
    const text = $(".panel-text", root);
    const textNode = document.createTextNode("");
    text.append(textNode);
    const panel = {
      name,
      root,
      badge: $(".badge", root),
      text,
      textNode,
      provider,
      clock: $(".panel-clock", root),
      placeholder: $(".panel-placeholder", root),
      error: null,
      errorBox: $(".panel-error", root),
      statsBox: $(".panel-stats", root),
      status: "waiting",
      stats: null,
      chars: 0,
      stick: true,
      endedAt: null,
    };
    text.addEventListener("scroll", () => {
      panel.stick = text.scrollTop + text.clientHeight >= text.scrollHeight - 24;
    }, { passive: true });
    root.dataset.empty = "true";
    current.panels.set(name, panel);
    el.panels.append(root);
    return panel;
  }

  const PLACEHOLDERS = {
    waiting: "Waiting for the model…",
    active: "Waiting for the first words…",
    completed: "The model returned no text.",
    error: "No answer.",
    stopped: "Stopped before the first words.",
  };

  function setPanelStatus(current, panel, status) {
    panel.status = status;
    panel.root.dataset.status = status;
    panel.badge.dataset.status = status;
    panel.badge.textContent = status;
    panel.placeholder.textContent = PLACEHOLDERS[status] || "";
    updateProgress(current);
  }

  function appendText(current, panel, text) {
    if (text === "") return;
    panel.textNode.appendData(text);
    panel.chars += text.length;
    panel.root.dataset.empty = "false";
    if (!current.frame) {
      current.frame = requestAnimationFrame(() => {
        current.frame = 0;
        for (const each of current.panels.values()) {
          if (each.stick) each.text.scrollTop = each.text.scrollHeight;
        }
        updateProgress(current);
      });
    }
  }

  function showPanelError(panel, error) {
    const code = error.code ? `${error.code}: ` : "";
    panel.errorBox.textContent = `${code}${error.message || "The model failed."}`;
    panel.errorBox.hidden = false;
  }

  function renderStats(panel) {
    const stats = panel.stats || {};
    const rows = [
      ["TTFT", formatMs(stats.time_to_first_token_ms), "Time to first token"],
      ["Duration", formatMs(stats.duration_ms)],
      ["Words", formatNumber(stats.words)],
      ["Chars", formatNumber(stats.characters), "Characters"],
      ["Avg word", formatNumber(stats.average_word_length, 2), "Average word length"],
      ["Tokens/s", formatNumber(stats.tokens_per_second, 1)],
    ];
    const items = rows.map(([label, value, title]) => {
      const item = document.createElement("div");
      item.className = "stat";
      const dt = document.createElement("dt");
      dt.textContent = label;
      if (title) dt.title = title;
      const dd = document.createElement("dd");
      dd.textContent = value;
      item.append(dt, dd);
      return item;
    });
    const extra = [];
    if (stats.finish_reason) extra.push(`finish: ${stats.finish_reason}`);
    if (typeof stats.output_tokens === "number") extra.push(`${formatNumber(stats.output_tokens)} output tokens`);
    if (stats.cached === true) extra.push("served from cache");
    if (extra.length > 0) {
      const foot = document.createElement("div");
      foot.className = "stat-foot";
      foot.textContent = extra.join(" · ");
      items.push(foot);
    }
    panel.statsBox.replaceChildren(...items);
    panel.statsBox.hidden = false;
  }

  // ---------------------------------------------------------------------------------------------
  // Run-level UI

  function tick(current) {
    if (current !== run) return;
    const now = current.endedAt ?? performance.now();
    el.elapsed.textContent = formatSeconds(now - current.startedAt);
    for (const panel of current.panels.values()) {
      let text = "";
      if (panel.status === "completed" && panel.stats && typeof panel.stats.duration_ms === "number") {
        text = formatMs(panel.stats.duration_ms);
      } else if (panel.status === "active" || panel.status === "waiting") {
        text = formatSeconds(now - current.startedAt);
        if (panel.chars > 0) text += ` · ${countWords(panel.textNode.data)} words`;
      } else if (panel.chars > 0) {
        text = `${countWords(panel.textNode.data)} words`;
      }
      if (panel.clock.textContent !== text) panel.clock.textContent = text;
    }
  }

  function updateProgress(current) {
    if (current !== run) return;
    const panels = [...current.panels.values()];
    const total = panels.length;
    const finished = panels.filter((panel) => panel.status === "completed" || panel.status === "error").length;
    const failed = panels.filter((panel) => panel.status === "error").length;
    const streaming = panels.filter((panel) => panel.status === "active").length;
    // A finished model counts fully; a streaming one gets growing partial credit (its final
    // length is unknown, so the credit approaches 80 % and jumps to 100 % on model_end).
    let credit = finished;
    for (const panel of panels) {
      if (panel.status === "active") credit += panel.chars === 0 ? 0.05 : 0.15 + 0.65 * (1 - Math.exp(-panel.chars / 900));
    }
    const percent = total === 0 ? 0 : Math.min(100, Math.round((credit / total) * 100));
    el.progress.setAttribute("aria-valuenow", String(percent));
    el.progress.dataset.value = String(percent);
    el.progress.dataset.state = current.state;
    el.progress.style.setProperty("--value", `${percent}%`);
    const parts = [`${finished} of ${total} model${total === 1 ? "" : "s"} finished`];
    if (streaming > 0) parts.push(`${streaming} streaming`);
    if (failed > 0) parts.push(`${failed} failed`);
    el.progressLabel.textContent = parts.join(" · ");
  }

  function setRunStatus(current, state, text) {
    if (current !== run) return;
    el.runStatus.dataset.state = state;
    el.runStatus.textContent = text;
    el.progress.dataset.state = state;
    document.body.dataset.run = state;
  }

  const COLUMN_LABELS = ["TTFT", "Duration", "Words", "Chars", "Avg word", "Tokens/s", "Finish"];

  function renderComparison(current) {
    const panels = current.models.map((name) => current.panels.get(name)).filter(Boolean);
    const completed = panels.filter((panel) => panel.status === "completed" && panel.stats);
    if (completed.length === 0) {
      el.comparisonSection.hidden = true;
      return;
    }
    const best = (key, pick) => {
      const values = completed.map((panel) => panel.stats[key]).filter((value) => typeof value === "number" && Number.isFinite(value));
      return values.length > 1 ? pick(...values) : null;
    };
    const bestTTFT = best("time_to_first_token_ms", Math.min);
    const bestDuration = best("duration_ms", Math.min);
    const bestRate = best("tokens_per_second", Math.max);

    const rows = panels.map((panel) => {
      const tr = document.createElement("tr");
      tr.dataset.model = panel.name;
      tr.dataset.status = panel.status;
      tr.style.setProperty("--hue", hueFor(panel.name));
      const nameCell = document.createElement("th");
      nameCell.scope = "row";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.setAttribute("aria-hidden", "true");
      const name = document.createElement("span");
      name.textContent = panel.name;
      nameCell.append(swatch, name);
      tr.append(nameCell);
      const stats = panel.status === "completed" ? panel.stats : null;
      let column = 0;
      const cell = (text, highlight, numeric = true) => {
        const td = document.createElement("td");
        td.dataset.label = COLUMN_LABELS[column++] || "";
        if (numeric) td.className = "num";
        if (highlight) td.classList.add("best");
        td.textContent = text;
        tr.append(td);
      };
      if (stats) {
        cell(formatMs(stats.time_to_first_token_ms), stats.time_to_first_token_ms === bestTTFT);
        cell(formatMs(stats.duration_ms), stats.duration_ms === bestDuration);
        cell(formatNumber(stats.words));
        cell(formatNumber(stats.characters));
        cell(formatNumber(stats.average_word_length, 2));
        cell(formatNumber(stats.tokens_per_second, 1), stats.tokens_per_second === bestRate);
        cell(stats.finish_reason ? String(stats.finish_reason) : "—", false, false);
      } else {
        for (let i = 0; i < 6; i += 1) cell("—");
        const reason = panel.status === "error" ? `error${panel.error && panel.error.code ? ` (${panel.error.code})` : ""}` : panel.status;
        cell(reason, false, false);
      }
      return tr;
    });
    el.comparisonBody.replaceChildren(...rows);
    el.comparisonSection.hidden = false;
  }

  function setCallError(current, { title, message, retryable }) {
    current.callError = { title, message };
    el.callErrorTitle.textContent = title;
    el.callErrorMessage.textContent = retryable ? `${message} (safe to retry)` : message;
    el.callError.hidden = false;
  }

  function hideCallError() {
    el.callError.hidden = true;
    el.callErrorTitle.textContent = "";
    el.callErrorMessage.textContent = "";
  }

  function showFormMessage(text) {
    el.formMessage.textContent = text;
    el.formMessage.hidden = false;
  }

  function hideFormMessage() {
    el.formMessage.hidden = true;
    el.formMessage.textContent = "";
  }

  function updateButtons() {
    const running = Boolean(run && run.state === "running");
    el.start.disabled = running || registry.length === 0;
    el.stop.disabled = !running;
    for (const input of el.models.querySelectorAll('input[name="model"]')) {
      const label = input.closest(".model-option");
      input.disabled = running || (label && label.dataset.available === "false");
    }
    el.form.classList.toggle("is-running", running);
  }

  // ---------------------------------------------------------------------------------------------
  // Utilities

  class ProtocolError extends Error {}

  async function readJSON(response) {
    const text = await response.text().catch(() => "");
    if (text === "") return null;
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  function describeHTTPError(response, body) {
    const error = body && body.error;
    const detail = error && error.message ? `: ${error.message}` : "";
    return `HTTP ${response.status}${detail}`;
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // ---------------------------------------------------------------------------------------------
  // Wiring

  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    startRun();
  });
  el.stop.addEventListener("click", stopRun);
  el.query.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (!el.start.disabled) el.form.requestSubmit();
    }
  });
  el.query.addEventListener("input", hideFormMessage);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && run && run.state === "running") stopRun();
  });

  loadModels();
})();
