/* 政策助手 staff console: vanilla JS, every value shown with textContent. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var state = { csrf: null, staff: null, selected: null, detail: null, ws: null };

  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: {} };
    if (method !== "GET") { opts.headers["X-CSRF-Token"] = state.csrf || ""; }
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { var e = new Error(data.error || ("HTTP " + r.status)); e.status = r.status; throw e; }
        return data;
      });
    });
  }
  function el(tag, cls, text) { var n = document.createElement(tag); if (cls) n.className = cls; if (text != null) n.textContent = String(text); return n; }

  function showLogin() { $("login").hidden = false; $("app").hidden = true; $("logout").hidden = true; $("who").textContent = ""; $("insights-link").hidden = true; }
  function showApp() {
    $("login").hidden = true; $("app").hidden = false; $("logout").hidden = false;
    $("who").textContent = state.staff.display_name;
    $("insights-link").hidden = !(state.staff.roles || []).some(function (r) { return r === "analyst" || r === "lead"; });
    loadQueue(); loadCanned(); connectWs();
  }

  $("login").addEventListener("submit", function (e) {
    e.preventDefault();
    api("POST", "/helpdesk/api/login", { username: $("username").value, password: $("password").value })
      .then(function (d) { state.csrf = d.csrf; state.staff = d.staff; $("password").value = ""; showApp(); })
      .catch(function (err) { $("login-error").textContent = err.status === 429 ? "尝试次数过多，请稍后再试" : "账号或密码错误"; });
  });
  $("logout").addEventListener("click", function () {
    api("POST", "/helpdesk/api/logout").finally(function () { if (state.ws) state.ws.close(); state.csrf = null; showLogin(); });
  });

  function minutes(s) { return s < 60 ? s + "秒" : Math.floor(s / 60) + "分钟"; }
  function loadQueue() {
    return api("GET", "/helpdesk/api/queue").then(function (d) {
      var list = $("queue-list"); list.textContent = "";
      if (!d.handoffs.length) list.appendChild(el("p", "empty", "暂无等待中的会话"));
      if (d.total > d.handoffs.length) list.appendChild(el("p", "empty", "共" + d.total + "个会话，显示等待最久的" + d.handoffs.length + "个"));
      d.handoffs.forEach(function (h) {
        var item = el("div", "item"); item.setAttribute("role", "option"); item.tabIndex = 0;
        item.setAttribute("aria-selected", String(h.id === state.selected)); item.dataset.id = h.id;
        var top = el("div"); top.appendChild(el("strong", null, (h.context.need || h.context.unanswered_question || "用户请求人工") + " "));
        top.appendChild(el("span", "badge" + (h.status === "claimed" ? " claimed" : ""), h.status === "claimed" ? ("处理中 · " + (h.claimed_by_name || "")) : "排队"));
        item.appendChild(top);
        item.appendChild(el("div", "meta", h.channel + " · 已等待" + minutes(h.waiting_s)));
        item.addEventListener("click", function () { select(h.id); });
        item.addEventListener("keydown", function (e) { if (e.key === "Enter") select(h.id); });
        list.appendChild(item);
      });
      if (state.selected) refreshDetail();
    }).catch(function (err) { if (err.status === 401) showLogin(); });
  }

  function loadCanned() {
    api("GET", "/helpdesk/api/canned").then(function (d) {
      var sel = $("canned"); sel.length = 1;
      d.replies.forEach(function (r, i) { var o = el("option", null, r.label); o.value = String(i); sel.appendChild(o); });
      state.canned = d.replies;
    });
  }
  $("canned").addEventListener("change", function () {
    var r = state.canned && state.canned[Number($("canned").value)];
    if (r) { var box = $("reply"); box.value = (box.value ? box.value + "\n" : "") + r.text; box.focus(); }
    $("canned").value = "";
  });

  function select(id) { state.selected = id; loadQueue(); }

  function card(h) {
    var c = h.context || {}; var p = c.profile || {}; var dl = $("card-body"); dl.textContent = "";
    function row(k, v) { if (v == null || v === "" || (Array.isArray(v) && !v.length)) return; dl.appendChild(el("dt", null, k)); dl.appendChild(el("dd", null, Array.isArray(v) ? v.join("；") : v)); }
    row("渠道", h.channel); row("主体类型", p.subject_type); row("注册地", p.registration); row("高新资质", p.hightech);
    row("需求", c.need); row("推荐资金", c.suggested_fund);
    row("推荐措施", (c.suggested_measures || []).map(function (n) { return "第" + n + "条"; }));
    if (c.eligibility) row("资格初判", c.eligibility.outcome + "：" + (c.eligibility.conditions || []).map(function (x) { return x.label + "（" + x.status + "）"; }).join("；"));
    row("已展示材料", c.materials_shown); row("未解答的问题", c.unanswered_question); row("转人工原因", c.reason);
  }

  function line(sender, text, who) {
    var d = el("div", "line " + sender);
    if (who) d.appendChild(el("span", "who", who));
    d.appendChild(document.createTextNode(text || ""));
    $("log").appendChild(d); $("log").scrollTop = $("log").scrollHeight;
  }

  function refreshDetail() {
    var id = state.selected;
    api("GET", "/helpdesk/api/handoffs/" + id).then(function (d) {
      if (id !== state.selected) return;
      state.detail = d; var h = d.handoff; card(h);
      $("log").textContent = "";
      d.transcript.forEach(function (m) { line(m.sender, m.text, m.sender === "user" ? "用户" : m.sender === "staff" ? "坐席" : m.sender === "system" ? null : "机器人"); });
      var mine = h.status === "claimed" && h.claimed_by === state.staff.id;
      $("claim").disabled = h.status !== "queued";
      $("return").disabled = $("close").disabled = $("reply").disabled = $("send").disabled = $("canned").disabled = !mine;
    });
  }

  function act(path, body) {
    return api("POST", "/helpdesk/api/handoffs/" + state.selected + path, body).then(loadQueue)
      .catch(function (err) { alert(err.message); loadQueue(); });
  }
  $("claim").addEventListener("click", function () { act("/claim"); });
  $("return").addEventListener("click", function () { act("/return"); });
  $("close").addEventListener("click", function () {
    var note = prompt("结束会话：请填写处理结果（备注）");
    if (note && note.trim()) act("/close", { resolution: note.trim() });
  });
  $("compose").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("reply").value.trim(); if (!text) return;
    api("POST", "/helpdesk/api/handoffs/" + state.selected + "/messages", { text: text })
      .then(function () { $("reply").value = ""; refreshDetail(); })
      .catch(function (err) { alert(err.message); });
  });
  $("reply").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.isComposing) { e.preventDefault(); $("compose").requestSubmit(); }
  });

  function connectWs() {
    if (state.ws && state.ws.readyState <= 1) return;
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/helpdesk/ws");
    state.ws = ws;
    ws.onmessage = function (ev) {
      var e = JSON.parse(ev.data);
      if (e.type === "queue") loadQueue();
      else if (e.type === "message" && e.handoff_id === state.selected) refreshDetail();
    };
    ws.onclose = function () { if (state.csrf) setTimeout(connectWs, 3000); };
  }

  api("GET", "/helpdesk/api/me").then(function (d) { state.csrf = d.csrf; state.staff = d.staff; showApp(); }).catch(showLogin);
})();
