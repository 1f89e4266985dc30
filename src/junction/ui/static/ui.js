// Junction admin UI: copy buttons, confirmations, the context-window control, the playground.
// Plain script, no dependencies; pages work without it except copy and the playground.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  return Promise.resolve();
}

function initCopy() {
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", () => {
      const target = document.querySelector(button.dataset.copy);
      const text = "value" in target && target.tagName !== "PRE" ? target.value : target.textContent;
      const label = button.textContent;
      copyText(text).then(() => {
        button.textContent = "Copied";
        button.classList.add("done");
        setTimeout(() => { button.textContent = label; button.classList.remove("done"); }, 2000);
      });
    });
  });
}

function initConfirm() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

function initWindow() {
  const radios = document.querySelectorAll("input[name=window_mode]");
  const box = document.querySelector("[data-window-number]");
  if (!radios.length || !box) return;
  const unit = box.querySelector("[data-window-unit]");
  const input = box.querySelector("input");
  const update = () => {
    const mode = document.querySelector("input[name=window_mode]:checked")?.value || "none";
    box.classList.toggle("hidden", mode === "none");
    unit.textContent = mode === "percent" ? "(% of the context length)" : "(tokens)";
    input.placeholder = mode === "percent" ? "e.g. 40" : "e.g. 4096";
  };
  radios.forEach((r) => r.addEventListener("change", update));
  update();
}

// Log entries: each row's detail (every field) opens under it; all are shown without script.
function initRowToggles() {
  document.querySelectorAll("[data-toggle-row]").forEach((button) => {
    const row = document.getElementById(button.getAttribute("aria-controls"));
    const set = (open) => { row.hidden = !open; button.setAttribute("aria-expanded", String(open)); };
    set(false);
    button.addEventListener("click", () => set(row.hidden));
  });
}

function initProviderKind() {
  const kind = document.getElementById("prov-kind");
  const url = document.getElementById("prov-url");
  if (!kind || !url) return;
  kind.addEventListener("change", () => {
    url.placeholder = kind.selectedOptions[0].dataset.hint ? "e.g. " + kind.selectedOptions[0].dataset.hint : "";
  });
}

// ---- Playground -------------------------------------------------------------------------
function initPlayground() {
  const root = document.getElementById("playground");
  if (!root) return;
  const ws = root.dataset.ws;
  const csrf = root.dataset.csrf;
  const log = document.getElementById("pg-log");
  const form = document.getElementById("pg-form");
  const input = document.getElementById("pg-input");
  const send = document.getElementById("pg-send");
  const select = document.getElementById("pg-assistant");
  const errorBox = document.getElementById("pg-error");
  let messages = [];
  let key = null;

  async function getKey(fresh) {
    if (key && !fresh) return key;
    const url = `/ui/w/${encodeURIComponent(ws)}/playground/key${fresh ? "?fresh=1" : ""}`;
    const response = await fetch(url, {
      method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin",
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || `Could not get a playground key (${response.status}).`);
    key = data;
    return key;
  }

  function bubble(role, text) {
    const item = document.createElement("div");
    item.className = `msg ${role}`;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = role === "user" ? "You" : select.value;
    const body = document.createElement("div");
    body.className = "text";
    body.textContent = text;
    item.append(who, body);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  async function ask(prompt) {
    errorBox.classList.add("hidden");
    messages.push({ role: "user", content: prompt });
    bubble("user", prompt);
    const answer = bubble("assistant", "");
    answer.classList.add("streaming");
    const text = answer.querySelector(".text");
    const started = performance.now();
    let firstToken = null;
    let usage = null;
    let content = "";
    const call = async (fresh) => {
      const k = await getKey(fresh);
      return fetch(`${k.base_url}/chat/completions`, {
        method: "POST",
        headers: { "Authorization": `Bearer ${k.key}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          model: select.value, messages, stream: true, stream_options: { include_usage: true },
        }),
      });
    };
    try {
      let response = await call(false);
      if (response.status === 401) response = await call(true);
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        throw new Error((data.error && data.error.message) || `The router answered ${response.status}.`);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          for (const line of event.split("\n")) {
            if (!line.startsWith("data: ")) continue;
            const payload = line.slice(6);
            if (payload === "[DONE]") continue;
            const chunk = JSON.parse(payload);
            if (chunk.error) throw new Error(chunk.error.message);
            if (chunk.usage) usage = chunk.usage;
            const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
            if (delta && delta.content) {
              if (firstToken === null) firstToken = performance.now() - started;
              content += delta.content;
              text.textContent = content;
              log.scrollTop = log.scrollHeight;
            }
          }
        }
      }
      messages.push({ role: "assistant", content });
      const total = performance.now() - started;
      const meta = document.createElement("div");
      meta.className = "meta";
      const tokens = usage
        ? `${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion tokens`
        : "tokens not reported";
      // Measured here, in the browser, from Send: network, router and model all included
      // (the Logs show the router's own times, from request received to answer sent).
      meta.textContent = `${tokens} · in this browser, from Send: whole answer ${Math.round(total)} ms` +
        (firstToken !== null ? `, first token ${Math.round(firstToken)} ms` : "");
      answer.appendChild(meta);
    } catch (error) {
      messages.pop();
      answer.remove();
      errorBox.textContent = error.message;
      errorBox.classList.remove("hidden");
    } finally {
      answer.classList.remove("streaming");
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const prompt = input.value.trim();
    if (!prompt) return;
    input.value = "";
    send.disabled = true;
    try { await ask(prompt); } finally { send.disabled = false; input.focus(); }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  document.getElementById("pg-clear").addEventListener("click", () => {
    messages = [];
    log.textContent = "";
  });
  select.addEventListener("change", () => { messages = []; log.textContent = ""; });
}

// ---- Knowledge files on an assistant's page ------------------------------------------------
function initKnowledge() {
  const root = document.getElementById("knowledge");
  if (!root) return;
  const url = root.dataset.filesUrl;
  const csrf = root.dataset.csrf;
  const input = document.getElementById("file-input");
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");

  function upload(file) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) bar.value = Math.round((100 * event.loaded) / event.total);
      });
      xhr.addEventListener("load", () => {
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else reject(new Error(`${file.name}: ${data.error || `upload failed (${xhr.status})`}`));
      });
      xhr.addEventListener("error", () => reject(new Error(`${file.name}: the upload broke off`)));
      const body = new FormData();
      body.append("file", file);
      xhr.send(body);
    });
  }

  input.addEventListener("change", async () => {
    const chosen = Array.from(input.files);
    if (!chosen.length) return;
    bar.hidden = false;
    input.disabled = true;
    const problems = [];
    for (const file of chosen) {
      bar.value = 0;
      status.textContent = `Uploading ${file.name}…`;
      try { await upload(file); } catch (error) { problems.push(error.message); }
    }
    if (problems.length) {
      status.textContent = problems.join(" · ");
      bar.hidden = true;
      input.disabled = false;
      input.value = "";
      return;
    }
    window.location.hash = "knowledge";
    window.location.reload();
  });

  // While a file is processing, follow its status, chunks and error in place.
  async function poll() {
    const rows = root.querySelectorAll("tr[data-status='processing']");
    if (!rows.length) return;
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        for (const file of data.data || []) {
          const row = root.querySelector(`tr[data-id="${CSS.escape(file.id)}"]`);
          if (!row) continue;
          row.dataset.status = file.status;
          const badge = row.querySelector(".file-status .badge");
          badge.textContent = file.status;
          badge.className = `badge status-${file.status}`;
          row.querySelector(".file-chunks").textContent = String(file.chunks);
          row.querySelector(".file-error").textContent = file.error || "";
        }
      }
    } catch (_) { /* try again */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 500);
}

document.addEventListener("DOMContentLoaded", () => {
  initCopy();
  initConfirm();
  initWindow();
  initProviderKind();
  initRowToggles();
  initPlayground();
  initKnowledge();
});
