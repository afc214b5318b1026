// ANTQ Connect web chat: send what the resident types or taps, show what the bot sends.
"use strict";
(function () {
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  let after = 0;
  // The server deletes each message once this page has read it (nothing of a conversation
  // waits in its database), so the transcript lives in this tab only, for a reload: the
  // bot's messages, never the private ones (a tip's code and PIN) nor what the resident typed.
  const KEY = "antq-chat-transcript";
  function stored() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function keep(message) {
    if (message.private) return;
    try {
      const kept = stored();
      kept.push({ id: message.id, text: message.text, buttons: message.buttons });
      sessionStorage.setItem(KEY, JSON.stringify(kept.slice(-100)));
    } catch (e) { /* storage full or off: the transcript is not kept */ }
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function bubble(cls, text) {
    const div = document.createElement("div");
    div.className = "msg " + cls;
    div.textContent = text;  // never innerHTML: text may carry what anyone typed
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function show(message) {
    const div = bubble("bot", message.text || "");
    div.dataset.id = message.id;
    if (message.buttons && message.buttons.length) {
      const box = document.createElement("div");
      box.className = "buttons";
      for (const row of message.buttons) {
        const r = document.createElement("div");
        r.className = "row";
        for (const [label, payload] of row) {
          const b = document.createElement("button");
          b.type = "button";
          b.textContent = label;
          b.addEventListener("click", () => send({ payload: payload }, label));
          r.appendChild(b);
        }
        box.appendChild(r);
      }
      div.appendChild(box);
      log.scrollTop = log.scrollHeight;  // again: the buttons made the message taller
    }
  }

  async function send(body, echo) {
    bubble("me", echo);
    body.id = uuid();
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const r = await fetch("/chat/api/send", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
        });
        if (r.ok) return;
        if (r.status < 500) { bubble("bot error", "Không gửi được tin nhắn (" + r.status + ")."); return; }
      } catch (e) { /* network: retry with the same id, the server drops duplicates */ }
      await new Promise((res) => setTimeout(res, 1000 * (attempt + 1)));
    }
    bubble("bot error", "Mất kết nối, vui lòng thử lại.");
  }

  async function poll() {
    for (;;) {
      try {
        const r = await fetch(`/chat/api/messages?after=${after}&wait=20`, { credentials: "same-origin" });
        if (r.ok) {
          const data = await r.json();
          for (const m of data.messages) { show(m); keep(m); after = Math.max(after, m.id); }
          continue;
        }
      } catch (e) { /* offline: wait and try again */ }
      await new Promise((res) => setTimeout(res, 3000));
    }
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text: text }, text);
  });

  (async function init() {
    const earlier = stored();
    for (const m of earlier) { show(m); after = Math.max(after, m.id); }
    const r = await fetch(`/chat/api/messages?after=${after}`, { credentials: "same-origin" });
    const data = r.ok ? await r.json() : { messages: [] };
    for (const m of data.messages) { show(m); keep(m); after = Math.max(after, m.id); }
    if (!earlier.length && !data.messages.length) await send({ text: "/start" }, "Bắt đầu");
    poll();
  })();
})();
