/*
 * 政策助手 web widget. Embed with one tag:
 *   <script src="http://HOST/widget.js" data-title="中关村政策助手" data-open="false" defer></script>
 * data-server (default: where this script came from), data-title, data-open ("true" opens on load).
 *
 * Speaks the Socket.IO protocol of the common Rasa web widgets with the gateway. Everything the bot or a
 * person sends is shown with textContent (never innerHTML). Messages typed while the connection is down wait
 * in an outbox (kept in sessionStorage) and are re-sent with the same message_id until the gateway
 * acknowledges them; the gateway handles each id once.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var cfg = {
    server: (script && script.getAttribute("data-server")) || (script ? new URL(script.src, location.href).origin : location.origin),
    title: (script && script.getAttribute("data-title")) || "中关村政策助手",
    open: script && script.getAttribute("data-open") === "true",
  };
  var SESSION_KEY = "zgc-policy-session";
  var OUTBOX_KEY = "zgc-policy-outbox";
  var SOURCE_PREFIX = "依据：";

  var CSS = [
    ":host{all:initial;font-family:-apple-system,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;}",
    "*{box-sizing:border-box;}",
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:28px;padding:14px 20px;",
    "background:#c8102e;color:#fff;font-size:16px;box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer;}",
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #1a73e8;outline-offset:2px;}",
    ".panel{position:fixed;right:20px;bottom:20px;z-index:2147483001;width:380px;height:600px;max-height:calc(100vh - 40px);",
    "display:flex;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden;}",
    ".panel[hidden]{display:none;}",
    "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;height:100vh;max-height:100vh;border-radius:0;}}",
    "header{display:flex;align-items:center;gap:8px;padding:12px 14px;background:#c8102e;color:#fff;}",
    "header h2{flex:1;margin:0;font-size:16px;font-weight:600;}",
    "header button{background:rgba(255,255,255,.15);color:#fff;border:1px solid rgba(255,255,255,.5);border-radius:14px;padding:4px 10px;font-size:13px;cursor:pointer;}",
    ".log{flex:1;overflow-y:auto;padding:12px;background:#f5f6f8;font-size:14px;line-height:1.55;}",
    ".msg{margin:6px 0;display:flex;flex-direction:column;}",
    ".msg.user{align-items:flex-end;}",
    ".bubble{max-width:85%;padding:8px 12px;border-radius:10px;white-space:pre-wrap;word-break:break-word;}",
    ".bot .bubble,.staff .bubble{background:#fff;border:1px solid #e3e5e8;color:#1f2329;}",
    ".staff .bubble{border-color:#1a73e8;}",
    ".who{font-size:12px;color:#1a73e8;margin-bottom:2px;}",
    ".user .bubble{background:#c8102e;color:#fff;}",
    ".user.pending .bubble{opacity:.6;}",
    ".source{max-width:85%;margin-top:4px;font-size:12px;color:#555;}",
    ".source summary{cursor:pointer;color:#1a5fb4;}",
    ".source blockquote{margin:4px 0 0;padding:6px 8px;border-left:3px solid #c8102e;background:#fff;white-space:pre-wrap;}",
    ".materials{max-width:85%;margin-top:4px;background:#fff;border:1px solid #e3e5e8;border-radius:10px;padding:8px 12px;}",
    ".materials h3{margin:4px 0;font-size:13px;}",
    ".materials label{display:flex;gap:6px;align-items:flex-start;margin:3px 0;}",
    ".materials .note{font-size:12px;color:#8a5a00;}",
    ".quick{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px;max-width:95%;}",
    ".quick button{border:1px solid #c8102e;color:#c8102e;background:#fff;border-radius:14px;padding:4px 10px;font-size:13px;cursor:pointer;}",
    ".typing{padding:0 12px 6px;font-size:12px;color:#666;background:#f5f6f8;}",
    ".status{padding:6px 12px;font-size:13px;background:#fff4e5;color:#8a4b00;display:flex;gap:8px;align-items:center;}",
    ".status button{border:1px solid #8a4b00;background:#fff;color:#8a4b00;border-radius:12px;padding:2px 8px;cursor:pointer;}",
    ".notice{padding:6px 12px;font-size:13px;background:#fdecea;color:#a50e0e;}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e3e5e8;background:#fff;}",
    "textarea{flex:1;resize:none;height:42px;max-height:120px;padding:10px;border:1px solid #ccd0d5;border-radius:8px;font:inherit;font-size:14px;}",
    "form button{border:0;border-radius:8px;padding:0 16px;background:#c8102e;color:#fff;font-size:14px;cursor:pointer;}",
    "[hidden]{display:none !important;}",
  ].join("\n");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return (Date.now().toString(36) + Math.random().toString(36).slice(2)).replace(/[^a-z0-9]/g, "");
  }
  function load(key, fallback) {
    try { var v = JSON.parse(sessionStorage.getItem(key)); return v === null ? fallback : v; } catch (e) { return fallback; }
  }

  // --- DOM (inside a shadow root, so the host page's styles and ours do not mix) ---------------------
  var host = el("div", { id: "zgc-policy-widget" });
  document.body.appendChild(host);
  var root = host.attachShadow({ mode: "open" });
  var style = el("style"); style.textContent = CSS; root.appendChild(style);

  var launcher = el("button", { class: "launcher", type: "button", "aria-haspopup": "dialog", "aria-expanded": "false" }, "💬 政策咨询");
  var panel = el("section", { class: "panel", role: "dialog", "aria-label": cfg.title, hidden: "" });
  var header = el("header");
  var title = el("h2", {}, cfg.title);
  var human = el("button", { type: "button", class: "human" }, "转人工");
  var close = el("button", { type: "button", class: "close", "aria-label": "关闭" }, "✕");
  header.append(title, human, close);
  var status = el("div", { class: "status", role: "status", hidden: "" });
  var statusText = el("span");
  var retry = el("button", { type: "button", class: "retry" }, "重试");
  status.append(statusText, retry);
  var log = el("div", { class: "log", role: "log", "aria-live": "polite", tabindex: "0" });
  var typing = el("div", { class: "typing", hidden: "" }, "助手正在输入…");
  var notice = el("div", { class: "notice", role: "alert", hidden: "" });
  var form = el("form");
  var input = el("textarea", { rows: "1", placeholder: "输入问题，Enter 发送", "aria-label": "输入消息", maxlength: "2000" });
  var send = el("button", { type: "submit" }, "发送");
  form.append(input, send);
  panel.append(header, status, log, typing, notice, form);
  root.append(launcher, panel);

  // --- rendering -------------------------------------------------------------------------------
  var lastBot = null; // the last bot message block, for its citation and checklist
  var pendingNodes = {}; // message_id → user message node still waiting for the gateway's ack

  function scroll() { log.scrollTop = log.scrollHeight; }

  function addUser(text, messageId, pending) {
    var box = el("div", { class: "msg user" + (pending ? " pending" : "") });
    box.appendChild(el("div", { class: "bubble" }, text));
    log.appendChild(box);
    if (messageId && pending) pendingNodes[messageId] = box;
    scroll();
  }

  function stripSource(text) {
    return String(text).split("\n").filter(function (line) { return line.indexOf(SOURCE_PREFIX) !== 0; }).join("\n");
  }

  function addQuickReplies(box, replies) {
    var bar = el("div", { class: "quick" });
    replies.forEach(function (r) {
      var b = el("button", { type: "button" }, r.title);
      b.addEventListener("click", function () { submit(r.payload, r.title); });
      bar.appendChild(b);
    });
    box.appendChild(bar);
  }

  function sourceDetails(citation, quote) {
    var d = el("details", { class: "source" });
    d.appendChild(el("summary", {}, "来源：" + citation));
    d.appendChild(el("blockquote", {}, quote || ""));
    return d;
  }

  function addCitations(box, items) {
    items.forEach(function (item) { box.appendChild(sourceDetails(item.citation, item.quote)); });
  }

  function addMaterials(box, custom) {
    var bubble = box.querySelector(".bubble");
    if (bubble) { // the checklist below replaces the text's "☐" lines
      bubble.textContent = bubble.textContent.split("\n").filter(function (l) { return l.indexOf("☐") !== 0; }).join("\n");
    }
    var list = el("div", { class: "materials", role: "group", "aria-label": "申报材料清单" });
    var labels = custom.labels || {};
    [["clause", labels.clause || "与文件条款相关的材料"], ["typical", labels.typical || "常见材料（请以官方申报指南为准）"]].forEach(function (group) {
      var items = (custom.items || []).filter(function (i) { return i.source === group[0]; });
      if (!items.length) return;
      list.appendChild(el("h3", {}, group[1]));
      items.forEach(function (i) {
        var label = el("label");
        label.appendChild(el("input", { type: "checkbox" }));
        var span = el("span", {}, i.name);
        if (i.source === "typical") span.appendChild(el("span", { class: "note" }, "（待申报指南确认）"));
        label.appendChild(span);
        list.appendChild(label);
      });
    });
    box.appendChild(list);
    var seen = {};
    (custom.items || []).forEach(function (i) {
      if (i.source !== "clause" || !i.citation || seen[i.citation + i.quote]) return;
      seen[i.citation + i.quote] = true;
      box.appendChild(sourceDetails(i.citation, i.quote));
    });
  }

  function addBotBox(sender) {
    var box = el("div", { class: "msg " + (sender === "staff" ? "staff" : "bot") });
    if (sender === "staff") box.appendChild(el("div", { class: "who" }, "人工客服"));
    log.appendChild(box);
    lastBot = box;
    return box;
  }

  function addBot(msg) {
    // One bot utterance: text, then its sources or checklist, then the buttons for the next step.
    var custom = msg.custom || {};
    var box = (!msg.text && lastBot) ? lastBot : addBotBox(msg.sender);
    if (msg.text) box.appendChild(el("div", { class: "bubble" }, stripSource(msg.text)));
    if (custom.type === "citations") addCitations(box, custom.items || []);
    else if (custom.type === "materials") addMaterials(box, custom);
    if (msg.quick_replies && msg.quick_replies.length) addQuickReplies(box, msg.quick_replies);
    scroll();
  }

  function renderHistory(messages) {
    log.textContent = "";
    lastBot = null;
    pendingNodes = {};
    messages.forEach(function (m) { if (m.sender === "user") addUser(m.text); else addBot(m); });
    outbox.forEach(function (m) { addUser(m.display || m.message, m.message_id, true); });
  }

  // --- connection --------------------------------------------------------------------------------
  var sessionId = null;
  try { sessionId = localStorage.getItem(SESSION_KEY); } catch (e) { sessionId = null; }
  var outbox = load(OUTBOX_KEY, []);
  var socket = null;
  var confirmed = false;
  var waiting = 0;

  function saveOutbox() { try { sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox)); } catch (e) { /* private mode */ } }
  function setTyping(on) { waiting = Math.max(0, waiting + (on ? 1 : -1)); typing.hidden = waiting === 0; }
  function showStatus(text) { statusText.textContent = text; status.hidden = !text; }
  function showNotice(text) {
    notice.textContent = text; notice.hidden = !text;
    if (text) setTimeout(function () { if (notice.textContent === text) notice.hidden = true; }, 6000);
  }

  function transmit(item) {
    if (!socket || !socket.connected || !confirmed) return;
    socket.timeout(8000).emit("user_uttered",
      { message: item.message, session_id: sessionId, customData: { message_id: item.message_id, display: item.display } },
      function (err, ack) {
        if (err) return; // no ack in time: stays in the outbox and goes again on the next connect
        outbox = outbox.filter(function (m) { return m.message_id !== item.message_id; });
        saveOutbox();
        var node = pendingNodes[item.message_id];
        if (node) { node.classList.remove("pending"); delete pendingNodes[item.message_id]; }
        if (ack && ack.status === "error") setTyping(false);
      });
  }

  function submit(message, display) {
    message = String(message || "").trim();
    if (!message) return;
    if (message.length > 2000) { showNotice("消息过长（最多2000字），请精简或分几次发送。"); return; }
    var item = { message: message, message_id: uid(), display: display || null };
    outbox.push(item);
    saveOutbox();
    addUser(display || message, item.message_id, true);
    setTyping(true);
    transmit(item);
  }

  function connect() {
    if (typeof io === "undefined") { showStatus("无法连接到服务，请稍后重试。"); return; }
    socket = io(cfg.server, { path: "/socket.io", transports: ["websocket", "polling"], reconnectionDelayMax: 5000 });
    socket.on("connect", function () {
      confirmed = false;
      // rich: one event per bot message with its citations, checklist and sender (stock clients get plain text)
      socket.emit("session_request", { session_id: sessionId, rich: true });
    });
    socket.on("session_confirm", function (id) {
      if (typeof id === "object" && id) id = id.session_id;
      sessionId = id;
      try { localStorage.setItem(SESSION_KEY, id); } catch (e) { /* private mode */ }
      confirmed = true;
      showStatus("");
      outbox.forEach(transmit);
    });
    socket.on("session_history", function (data) { renderHistory((data && data.messages) || []); });
    socket.on("bot_uttered", function (msg) {
      if (!msg || typeof msg !== "object") return;
      if (msg.in_reply_to || msg.sender === "staff" || !msg.custom) setTyping(false);
      addBot(msg);
    });
    socket.on("error", function (err) {
      setTyping(false);
      showNotice((err && err.message) || "消息发送失败。");
    });
    socket.on("disconnect", function () { confirmed = false; showStatus("连接已断开，正在重新连接…"); });
    socket.on("connect_error", function () { showStatus("无法连接到服务，正在重试…"); });
  }

  function loadClient(done) {
    if (typeof io !== "undefined") return done();
    var s = document.createElement("script");
    s.src = cfg.server + "/vendor/socket.io.min.js";
    s.onload = done;
    s.onerror = function () { showStatus("无法连接到服务，请稍后重试。"); };
    document.head.appendChild(s);
  }

  // --- interaction ---------------------------------------------------------------------------
  function openPanel() {
    panel.hidden = false; launcher.hidden = true; launcher.setAttribute("aria-expanded", "true");
    input.focus();
    if (!socket) loadClient(connect);
  }
  function closePanel() { panel.hidden = true; launcher.hidden = false; launcher.setAttribute("aria-expanded", "false"); launcher.focus(); }

  launcher.addEventListener("click", openPanel);
  close.addEventListener("click", closePanel);
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") closePanel(); });
  human.addEventListener("click", function () { submit("/request_human", "转人工"); });
  retry.addEventListener("click", function () {
    if (!socket) { loadClient(connect); return; }
    showStatus("正在重新连接…"); socket.connect();
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(input.value); input.value = ""; });
  input.addEventListener("keydown", function (e) {
    // Enter sends — but not while a Chinese IME is composing (Enter then picks the candidate).
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit(input.value);
      input.value = "";
    }
  });

  if (cfg.open) openPanel();
  window.ZgcPolicyWidget = { open: openPanel, close: closePanel, send: submit };
})();
