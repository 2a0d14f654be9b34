/* /helpdesk/insights: fetch the report for the chosen period and draw it (insights.js); again every minute. */
(function () {
  "use strict";
  var charts = [];
  var status = document.getElementById("status");
  var shownQuery = null, csrf = null;
  var $ = function (id) { return document.getElementById(id); };

  function query() {
    var since = document.getElementById("since").value;
    var start = document.getElementById("start").value, end = document.getElementById("end").value;
    if (!since && start) return "start=" + encodeURIComponent(start) + (end ? "&end=" + encodeURIComponent(end) : "");
    return "since=" + encodeURIComponent(since || "7d");
  }

  function load() {
    status.textContent = "加载中…";
    var q = query();
    fetch("/helpdesk/api/insights?" + q, {credentials: "same-origin"}).then(function (r) {
      if (r.status === 401) { window.location.href = "/helpdesk"; return null; }
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
        return body;
      });
    }).then(function (report) {
      if (!report) return;
      shownQuery = q;
      var select = $("label-intent");
      if (!select.options.length) {
        (report.label_choices || {intents: []}).intents.forEach(function (name) {
          var o = document.createElement("option"); o.value = name; o.textContent = name; select.appendChild(o);
        });
      }
      charts.forEach(function (c) { c.destroy(); });
      charts = window.renderInsights(report, document.getElementById("insights"));
      window.insightsCharts = charts;
      status.textContent = "";
    }).catch(function (e) { status.textContent = "无法加载：" + e.message; });
  }

  $("label-kind").addEventListener("change", function () {
    $("label-intent").hidden = $("label-kind").value !== "intent";
    $("label-section").hidden = $("label-kind").value !== "section";
  });
  fetch("/helpdesk/api/me", {credentials: "same-origin"}).then(function (r) { return r.json(); })
    .then(function (d) { csrf = d.csrf; }).catch(function () {});
  $("label-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = {cluster: Number($("label-cluster").value)};
    new URLSearchParams(shownQuery || "since=7d").forEach(function (v, k) { body[k] = v; });
    var kind = $("label-kind").value;
    if (kind === "intent") body.intent = $("label-intent").value;
    else if (kind === "section") body.section = $("label-section").value.trim();
    else body.out_of_scope = true;
    fetch("/helpdesk/api/labels", {method: "POST", credentials: "same-origin", body: JSON.stringify(body),
                                   headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf || ""}})
      .then(function (r) { return r.json().then(function (d) { return [r.ok, d]; }); })
      .then(function (res) {
        $("label-status").textContent = res[0] ? "已标注 " + res[1].labelled + " 个问题" : "未保存：" + res[1].error;
      }).catch(function (e) { $("label-status").textContent = "未保存：" + e.message; });
  });

  document.getElementById("period").addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
  document.getElementById("since").addEventListener("change", load);
  load();
  setInterval(load, 60000);
})();
