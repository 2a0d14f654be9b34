/* Renders an insights report (the object `python -m bot report --json` prints) into an element, with Chart.js.
 * Used by the self-contained HTML report and by the console's /helpdesk/insights page. Every text is set with
 * textContent. window.renderInsights(report, root) → the Chart objects it made. */
(function () {
  "use strict";
  var COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569"];

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function pct(x) { return x === null || x === undefined ? "—" : (x * 100).toFixed(1) + " %"; }
  function ms(x) { return x === null || x === undefined ? "—" : x + " ms"; }

  function table(head, rows) {
    var t = el("table"), tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", h)); });
    t.appendChild(tr);
    rows.forEach(function (r) {
      var row = el("tr");
      r.forEach(function (c) { row.appendChild(el("td", c)); });
      t.appendChild(row);
    });
    return t;
  }

  function chartBox(root, title, id) {
    var box = el("section", null, "chart");
    box.appendChild(el("h3", title));
    var canvas = el("canvas");
    canvas.id = id;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", title);
    box.appendChild(canvas);
    root.appendChild(box);
    return canvas;
  }

  function bar(canvas, labels, datasets, horizontal) {
    return new window.Chart(canvas, {
      type: "bar",
      data: {labels: labels, datasets: datasets.map(function (d, i) {
        return {label: d.label, data: d.data, backgroundColor: COLORS[i % COLORS.length]};
      })},
      options: {animation: false, responsive: true, maintainAspectRatio: false, indexAxis: horizontal ? "y" : "x",
                scales: {x: {beginAtZero: true, ticks: {precision: 0}}, y: {beginAtZero: true, ticks: {precision: 0}}}}
    });
  }

  function doughnut(canvas, counts) {
    var labels = Object.keys(counts);
    return new window.Chart(canvas, {
      type: "doughnut",
      data: {labels: labels.length ? labels : ["（无）"],
             datasets: [{data: labels.length ? labels.map(function (k) { return counts[k]; }) : [0],
                         backgroundColor: COLORS}]},
      options: {animation: false, responsive: true, maintainAspectRatio: false}
    });
  }

  function counted(a, b) {  // union of two count objects' keys, most frequent first
    var keys = Object.keys(Object.assign({}, a, b));
    keys.sort(function (x, y) { return ((b[y] || 0) + (a[y] || 0)) - ((b[x] || 0) + (a[x] || 0)); });
    return keys.slice(0, 15);
  }

  window.renderInsights = function (report, root) {
    var charts = [];
    root.textContent = "";
    var channels = report.channels || {};
    var names = Object.keys(channels);
    var period = report.period || {};
    root.appendChild(el("p", "期间：" + (period.start || "") + " — " + (period.end || ""), "period"));

    var figures = [["合计"].concat([report.conversations, report.user_turns, pct(report.containment),
      report.handoffs.total, report.fallbacks, report.not_covered, report.eligibility.started,
      report.eligibility.finished, ms(report.reply_time_ms.median), ms(report.reply_time_ms.p95)])];
    names.forEach(function (n) {
      var c = channels[n];
      figures.push([n, c.conversations, c.user_turns, pct(c.containment), c.handoffs.total, c.fallbacks,
        c.not_covered, c.eligibility.started, c.eligibility.finished, ms(c.reply_time_ms.median),
        ms(c.reply_time_ms.p95)]);
    });
    var summary = el("section", null, "figures");
    summary.appendChild(el("h2", "概况"));
    summary.appendChild(table(["渠道", "会话", "用户消息", "自助解决率", "转人工", "兜底回复", "文件未涉及",
      "资格检查开始", "资格检查完成", "回复时间中位数", "回复时间 p95"], figures));
    root.appendChild(summary);

    var grid = el("div", null, "charts");
    root.appendChild(grid);
    charts.push(bar(chartBox(grid, "各渠道会话与消息", "chart-channels"), names, [
      {label: "会话", data: names.map(function (n) { return channels[n].conversations; })},
      {label: "用户消息", data: names.map(function (n) { return channels[n].user_turns; })},
      {label: "转人工", data: names.map(function (n) { return channels[n].handoffs.total; })},
      {label: "兜底回复", data: names.map(function (n) { return channels[n].fallbacks; })},
      {label: "文件未涉及", data: names.map(function (n) { return channels[n].not_covered; })}]));
    charts.push(doughnut(chartBox(grid, "转人工原因", "chart-handoffs"), report.handoffs.by_reason));
    charts.push(doughnut(chartBox(grid, "资格检查结论", "chart-verdicts"), report.eligibility.verdicts));
    var funds = counted(report.funds.recommended, report.funds.asked);
    charts.push(bar(chartBox(grid, "资金：推荐与询问", "chart-funds"), funds, [
      {label: "推荐", data: funds.map(function (k) { return report.funds.recommended[k] || 0; })},
      {label: "询问", data: funds.map(function (k) { return report.funds.asked[k] || 0; })}], true));
    var measures = counted(report.measures.recommended, report.measures.asked);
    charts.push(bar(chartBox(grid, "措施：推荐与询问", "chart-measures"), measures.map(function (m) {
      return /^\d+$/.test(m) ? "第" + m + "条" : m; }), [
      {label: "推荐", data: measures.map(function (k) { return report.measures.recommended[k] || 0; })},
      {label: "询问", data: measures.map(function (k) { return report.measures.asked[k] || 0; })}], true));
    var clusters = report.unanswered || [];
    charts.push(bar(chartBox(grid, "未解答问题（按类）", "chart-unanswered"),
      clusters.slice(0, 12).map(function (c) { return (c.examples[0] || "").slice(0, 18); }),
      [{label: "问题数", data: clusters.slice(0, 12).map(function (c) { return c.size; })}], true));

    var list = el("section", null, "unanswered");
    list.appendChild(el("h2", "未解答问题（" + (report.unanswered_total || 0) + "）"));
    list.appendChild(table(["#", "数量", "关键词", "示例", "渠道", "原因"], clusters.map(function (c, i) {
      var mix = Object.keys(c.channels).map(function (k) { return k + " " + c.channels[k]; }).join("，");
      var why = Object.keys(c.why).map(function (k) { return k + " " + c.why[k]; }).join("，");
      return [c.other ? "其他" : String(i + 1), c.size, (c.terms || []).join(" "), c.examples.join(" ｜ "), mix, why];
    })));
    root.appendChild(list);
    return charts;
  };
})();
