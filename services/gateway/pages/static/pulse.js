// Pulse dashboard: charts drawn from the tables that are their text alternative, and what the live refresh
// needs around htmx. Every number comes from a table cell's data-value (the API's figure); nothing is
// computed here. ECharts and htmx are served by the gateway from npm packages.
(function () {
  "use strict";

  var COLORS = ["#1d4ed8", "#b45309", "#b91c1c", "#047857", "#6d28d9", "#0e7490", "#be185d", "#4d7c0f"];
  // The health categories of CONTRACT §2, drawn behind the health score.
  var BANDS = [
    { from: 0, to: 50, name: "critical", color: "rgba(220, 38, 38, 0.12)" },
    { from: 50, to: 70, name: "warning", color: "rgba(217, 119, 6, 0.14)" },
    { from: 70, to: 80, name: "good", color: "rgba(37, 99, 235, 0.10)" },
    { from: 80, to: 100, name: "excellent", color: "rgba(22, 163, 74, 0.12)" }
  ];

  var money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

  function formatter(kind) {
    if (kind === "percent") { return function (v) { return v == null ? "n/a" : money.format(v) + "%"; }; }
    return function (v) { return v == null ? "n/a" : money.format(v); };
  }

  function axisFormatter(kind) {
    if (kind === "percent") { return function (v) { return v + "%"; }; }
    if (kind === "money") { return function (v) { return compact.format(v); }; }
    return function (v) { return String(v); };
  }

  // {labels: [...], columns: {series: [numbers or null]}, names: {series: header text}} of a table whose
  // first cell in each row labels it and whose header cells name their column's series.
  function readTable(table) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var names = {};
    var indexes = {};
    headers.forEach(function (cell, i) {
      if (cell.dataset.series) { indexes[cell.dataset.series] = i; names[cell.dataset.series] = cell.textContent.trim(); }
    });
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    if (table.dataset.order === "newest-first") { rows.reverse(); } // charts run left to right, oldest first
    var columns = {};
    Object.keys(indexes).forEach(function (series) {
      columns[series] = rows.map(function (row) {
        var figure = row.cells[indexes[series]].querySelector("[data-value]");
        var value = figure ? figure.dataset.value : "";
        return value === "" || value === undefined ? null : Number(value);
      });
    });
    return { labels: rows.map(function (row) { return row.cells[0].textContent.trim(); }), columns: columns, names: names };
  }

  function lineOption(el, data) {
    var series = el.dataset.series.split(" ");
    var kind = el.dataset.format;
    var option = {
      animation: false,
      color: COLORS,
      grid: { left: 8, right: 16, top: series.length > 1 ? 32 : 12, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", valueFormatter: formatter(kind) },
      xAxis: { type: "category", data: data.labels, boundaryGap: false, axisLabel: { color: "#4b5563" } },
      yAxis: { type: "value", scale: kind !== "score", axisLabel: { color: "#4b5563", formatter: axisFormatter(kind) } },
      series: series.map(function (name) {
        return { name: data.names[name] || name, type: "line", data: data.columns[name], showSymbol: data.labels.length < 40, connectNulls: false };
      })
    };
    if (series.length > 1) { option.legend = { top: 0, textStyle: { color: "#1f2937" } }; }
    if (el.dataset.bands === "health") {
      option.yAxis.min = 0;
      option.yAxis.max = 100;
      option.series[0].markArea = {
        silent: true,
        label: { show: true, position: "insideRight", color: "#374151", fontSize: 11 },
        data: BANDS.map(function (band) {
          return [{ name: band.name, yAxis: band.from, itemStyle: { color: band.color } }, { yAxis: band.to }];
        })
      };
    }
    return option;
  }

  function pieOption(el, data) {
    var kind = el.dataset.format;
    var narrow = el.clientWidth < 480; // no room for labels beside the ring: a legend below it instead
    return {
      animation: false,
      color: COLORS,
      tooltip: { trigger: "item", valueFormatter: formatter(kind) },
      legend: narrow ? { bottom: 0, textStyle: { color: "#1f2937" } } : undefined,
      series: [{
        type: "pie",
        radius: narrow ? ["35%", "60%"] : ["40%", "70%"],
        center: ["50%", narrow ? "42%" : "50%"],
        label: { show: !narrow, color: "#1f2937", formatter: "{b}: {d}%" },
        data: data.labels.map(function (label, i) { return { name: label, value: data.columns.value[i] }; })
      }]
    };
  }

  function barOption(el, data) {
    var kind = el.dataset.format;
    return {
      animation: false,
      color: COLORS,
      grid: { left: 8, right: 16, top: 12, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", valueFormatter: formatter(kind) },
      xAxis: { type: "category", data: data.labels, axisLabel: { color: "#4b5563" } },
      yAxis: { type: "value", axisLabel: { color: "#4b5563", formatter: axisFormatter(kind) } },
      series: [{ type: "bar", data: data.columns.value }]
    };
  }

  var OPTIONS = { line: lineOption, pie: pieOption, bar: barOption };

  function drawCharts(root) {
    if (typeof echarts === "undefined") { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var table = document.getElementById(el.dataset.table);
      if (!table) { return; }
      var chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "svg" });
      chart.setOption(OPTIONS[el.dataset.chart](el, readTable(table)), true);
    });
  }

  function disposeCharts(root) {
    if (typeof echarts === "undefined") { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = echarts.getInstanceByDom(el);
      if (chart) { chart.dispose(); }
    });
  }

  function announce(text) {
    var status = document.getElementById("live-status");
    if (status) { status.textContent = text; }
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      if (typeof echarts === "undefined") { return; }
      document.querySelectorAll("[data-chart]").forEach(function (el) {
        var chart = echarts.getInstanceByDom(el);
        if (chart) { chart.resize(); }
      });
    }, 150);
  });

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });

  // A live region is replaced as a whole: its charts go with it, and are drawn again from its new tables.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "live") { disposeCharts(event.detail.target); }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id === "live") {
      drawCharts(elt);
      announce("Figures updated at " + new Date().toLocaleTimeString());
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var reason = (xhr && xhr.getResponseHeader("X-Pulse-Error")) || (xhr ? "error " + xhr.status : "no answer");
    announce("That did not work: " + reason + ".");
    var row = event.detail.elt && event.detail.elt.closest("tr");
    if (row) {
      var note = row.querySelector(".action-error") || document.createElement("span");
      note.className = "action-error";
      note.setAttribute("role", "alert");
      note.textContent = " Not marked: " + reason + ".";
      event.detail.elt.after(note);
    }
  });
})();
