/* /helpdesk/insights: fetch the report for the chosen period and draw it (insights.js); again every minute. */
(function () {
  "use strict";
  var charts = [];
  var status = document.getElementById("status");

  function query() {
    var since = document.getElementById("since").value;
    var start = document.getElementById("start").value, end = document.getElementById("end").value;
    if (!since && start) return "start=" + encodeURIComponent(start) + (end ? "&end=" + encodeURIComponent(end) : "");
    return "since=" + encodeURIComponent(since || "7d");
  }

  function load() {
    status.textContent = "加载中…";
    fetch("/helpdesk/api/insights?" + query(), {credentials: "same-origin"}).then(function (r) {
      if (r.status === 401) { window.location.href = "/helpdesk"; return null; }
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
        return body;
      });
    }).then(function (report) {
      if (!report) return;
      charts.forEach(function (c) { c.destroy(); });
      charts = window.renderInsights(report, document.getElementById("insights"));
      window.insightsCharts = charts;
      status.textContent = "";
    }).catch(function (e) { status.textContent = "无法加载：" + e.message; });
  }

  document.getElementById("period").addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
  document.getElementById("since").addEventListener("change", load);
  load();
  setInterval(load, 60000);
})();
