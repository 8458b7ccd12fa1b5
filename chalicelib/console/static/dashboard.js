/* 看板: the managers' charts, drawn with Chart.js (chart.umd.js, vendored) from
   GET /v1/dashboard. Every chart has its numbers beside it as text: a one-line
   summary (the canvas's aria-label) and a table in a fold, so the figures read
   without the canvas. console.js calls SalesDashboard.render with its helpers. */
(function () {
  "use strict";

  const KINDS = {
    channel: "渠道公司",
    distribution: "分销机构",
    ecommerce: "电商",
    broker: "全民经纪人",
    consultant: "置业顾问",
  };
  const STATUSES = [
    ["proposed", "待确认"],
    ["due", "应缴"],
    ["appealed", "申诉中"],
    ["upheld", "申诉未通过"],
    ["dismissed", "已驳回"],
    ["cancelled", "已撤销"],
  ];
  const JUDGED = [
    ["channel", "判给渠道"],
    ["distribution", "判给分销"],
    ["ecommerce", "判给电商"],
    ["broker", "判给经纪人"],
  ];
  const REFUSALS = {
    DUPLICATE_LIVE_CLAIM: "重复报备（已有有效保护）",
    MASKED_CLAIM_MATCH: "隐号报备号码相符",
    RECOMMENDATION_LIMIT: "已推荐满两次",
    REGISTRATION_TOO_LATE: "超过报备时限",
    TOO_CLOSE_TO_VISIT: "距到访不足 30 分钟",
    BROKER_NOT_CERTIFIED: "经纪人未认证",
    BROKER_ID_MISMATCH: "身份证不符",
    VISIT_NOT_RECOGNIZED: "到访不予认可",
  };
  // colour-blind-safe (Okabe–Ito), then greys
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#7f8c99", "#3d4852"];
  const REFUSED = "#B42318";
  const FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", system-ui, sans-serif';

  const shortDay = (iso) => `${Number(iso.slice(5, 7))}月${Number(iso.slice(8, 10))}日`;
  const monthName = (m) => `${m.slice(0, 4)}年${Number(m.slice(5, 7))}月`;
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const yuan = (n) => `${n.toLocaleString("zh-CN")} 元`;

  // a chart: its canvas in a box of fixed height that follows the card's width
  function chartBox(ui, label, height) {
    const canvas = ui.h("canvas", { role: "img", "aria-label": label });
    canvas.textContent = label; // shown where canvas is not drawn at all
    const box = ui.h("div", { class: "chart" }, canvas);
    box.style.position = "relative";
    box.style.width = "100%";
    box.style.height = `${height}px`;
    return { box, canvas };
  }

  function fold(ui, headers, rows) {
    return ui.h("details", { class: "chart-data" }, ui.h("summary", {}, "查看数据表"), ui.table(headers, rows, "暂无数据"));
  }

  // a chart to draw once its card is on the page (its canvas has a width then)
  function draw(canvas, config, pending) {
    if (!window.Chart) return; // the summary and the table still say it all
    const base = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
    };
    const options = Object.assign(base, config.options || {});
    options.plugins = Object.assign({}, base.plugins, (config.options || {}).plugins);
    pending.push(() => new window.Chart(canvas, Object.assign({}, config, { options })));
  }

  function stackedAxes(xTitle) {
    return {
      x: { stacked: true, ticks: { autoSkip: true, maxRotation: 0 }, title: { display: !!xTitle, text: xTitle } },
      y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
    };
  }

  // -- the cards ----------------------------------------------------------------------

  function overview(ui, doc) {
    const reg = doc.registrations;
    const last = reg.accepted.length - 1;
    const today = doc.floor.today;
    const thisMonth = doc.fines.months[doc.fines.months.length - 1];
    const owed = thisMonth ? thisMonth.statuses.due.yuan + thisMonth.statuses.upheld.yuan : 0;
    const items = [
      ["今日报备成功", `${reg.accepted[last]} 条`],
      ["今日报备失败", `${reg.refused[last]} 条`],
      ["今日到访", `${today.arrivals} 组 · ${today.people} 人`],
      ["今日判客", `${sum(JUDGED.map(([k]) => today.decided[k]))} 组`],
      ["7 天内到期的保护", `${doc.ending.total} 个`],
      ["公共池客户", `${doc.pool.size} 位`],
      ["本月应缴罚款", yuan(owed)],
    ];
    const list = ui.h("dl", { class: "metrics" }, items.map(([k, v]) => ui.h("div", { class: "metric" }, ui.h("dt", {}, k), ui.h("dd", {}, v))));
    list.style.display = "grid";
    list.style.gridTemplateColumns = "repeat(auto-fit, minmax(9.5rem, 1fr))";
    list.style.gap = ".5rem 1rem";
    list.style.margin = "0";
    return ui.section(`今日概览（${shortDay(doc.today)}，北京时间）`, list,
      ui.h("p", { class: "small" }, `数据生成于 ${ui.when(doc.generated_at)}。`));
  }

  function registrations(ui, doc, charts) {
    const reg = doc.registrations;
    const labels = doc.days.map(shortDay);
    const name = (r) => r.name || r.id;
    const datasets = reg.registrants.map((r, i) => ({
      label: `${name(r)} 成功`,
      data: r.accepted,
      backgroundColor: PALETTE[i % PALETTE.length],
      stack: "accepted",
    }));
    datasets.push({ label: "报备失败（全部报备方）", data: reg.refused, backgroundColor: REFUSED, stack: "refused" });
    const total = sum(reg.accepted);
    const refused = sum(reg.refused);
    const summary = `近 ${doc.days.length} 天报备成功 ${total} 条、失败 ${refused} 条，来自 ${reg.registrants.length} 个报备方。`;
    const { box, canvas } = chartBox(ui, summary, 300);
    const rows = reg.registrants.map((r) => [name(r), KINDS[r.kind] || "—", String(sum(r.accepted)), String(sum(r.refused))]);
    const card = ui.section("每日报备（按报备方，成功与失败）", ui.h("p", { class: "small" }, summary), box,
      fold(ui, ["报备方", "类型", "成功", "失败"], rows));
    draw(canvas, { type: "bar", data: { labels, datasets }, options: { scales: stackedAxes() } }, charts);
    return card;
  }

  function refusals(ui, doc, charts) {
    const list = doc.registrations.refusals;
    const label = (r) => `${REFUSALS[r.code] || "其他原因"}${r.rule ? `（${r.rule}）` : ""}`;
    const summary = list.length
      ? `失败原因：${list.map((r) => `${label(r)} ${r.count} 条`).join("，")}。`
      : `近 ${doc.days.length} 天没有失败的报备。`;
    const { box, canvas } = chartBox(ui, summary, Math.max(140, 60 + 36 * list.length));
    const card = ui.section("报备失败原因（按规则）", ui.h("p", { class: "small" }, summary), list.length ? box : null,
      fold(ui, ["原因", "规则", "条数"], list.map((r) => [REFUSALS[r.code] || "其他原因", r.rule || "—", String(r.count)])));
    if (list.length) {
      draw(canvas, {
        type: "bar",
        // two lines a label (the reason, then its rule): it fits a phone's width
        data: {
          labels: list.map((r) => [REFUSALS[r.code] || "其他原因", r.rule || ""]),
          datasets: [{ label: "失败条数", data: list.map((r) => r.count), backgroundColor: REFUSED }],
        },
        options: { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { display: false } } },
      }, charts);
    }
    return card;
  }

  function floor(ui, doc, charts) {
    const days = doc.floor.days;
    const labels = days.map((d) => shortDay(d.date));
    const kept = (d, v) => (d.recorded ? v : null); // a day never counted is a gap, not a zero
    const datasets = [
      { label: "到访（组）", data: days.map((d) => kept(d, d.arrivals)), backgroundColor: "#7f8c99", stack: "arrivals" },
      ...JUDGED.map(([k, text], i) => ({
        label: text, data: days.map((d) => kept(d, d.decided[k])), backgroundColor: PALETTE[i], stack: "judged",
      })),
      { label: "自然客户（无需判客）", data: days.map((d) => kept(d, d.natural)), backgroundColor: "#CC79A7", stack: "judged" },
    ];
    const counted = days.filter((d) => d.recorded);
    const summary = `近 ${days.length} 天到访 ${sum(counted.map((d) => d.arrivals))} 组、${sum(counted.map((d) => d.people))} 人；判客 ${sum(counted.map((d) => sum(JUDGED.map(([k]) => d.decided[k]))))} 组，其中更正 ${sum(counted.map((d) => d.corrected))} 次。`;
    const { box, canvas } = chartBox(ui, summary, 300);
    const rows = days.slice().reverse().map((d) => [
      d.date + (d.live ? "（今天）" : ""),
      d.recorded ? String(d.arrivals) : "未统计",
      d.recorded ? String(d.people) : "—",
      ...JUDGED.map(([k]) => (d.recorded ? String(d.decided[k]) : "—")),
      d.recorded ? String(d.natural) : "—",
    ]);
    const card = ui.section("到访与判客", ui.h("p", { class: "small" }, summary), box,
      ui.h("p", { class: "small" }, "以前各天的数字在当天结束后由每小时的例行任务记下；今天的随时更新。"),
      fold(ui, ["日期", "到访（组）", "人数", ...JUDGED.map(([, t]) => t), "自然客户"], rows));
    draw(canvas, { type: "bar", data: { labels, datasets }, options: { scales: stackedAxes() } }, charts);
    return card;
  }

  function ending(ui, doc, charts) {
    const days = doc.ending.days;
    const summary = `未来 ${days.length} 天共有 ${doc.ending.total} 个保护期到期：${days.map((d) => `${shortDay(d.date)} ${d.count} 个`).join("，")}。`;
    const { box, canvas } = chartBox(ui, summary, 220);
    const card = ui.section("即将到期的保护期", ui.h("p", { class: "small" }, summary), box,
      fold(ui, ["到期日", "个数"], days.map((d) => [d.date, String(d.count)])));
    draw(canvas, {
      type: "bar",
      data: { labels: days.map((d) => shortDay(d.date)), datasets: [{ label: "到期的保护期", data: days.map((d) => d.count), backgroundColor: "#E69F00" }] },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { display: false } } },
    }, charts);
    return card;
  }

  function pool(ui, doc, charts) {
    const months = doc.pool.months;
    const age = (m) => (m.age_months === 0 ? "本月" : `${m.age_months} 个月前`);
    const summary = months.length
      ? `公共池共有 ${doc.pool.size} 位客户：${months.map((m) => `${monthName(m.month)}入池 ${m.count} 位`).join("，")}。`
      : "公共池目前没有客户。";
    const { box, canvas } = chartBox(ui, summary, 220);
    const card = ui.section("公共池（按入池月份）", ui.h("p", { class: "small" }, summary), months.length ? box : null,
      fold(ui, ["入池月份", "入池时长", "客户数"], months.map((m) => [monthName(m.month), age(m), String(m.count)])));
    if (months.length) {
      draw(canvas, {
        type: "bar",
        data: {
          labels: months.map((m) => `${monthName(m.month)}（${age(m)}）`),
          datasets: [{ label: "客户数", data: months.map((m) => m.count), backgroundColor: "#0072B2" }],
        },
        options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { display: false } } },
      }, charts);
    }
    return card;
  }

  function fines(ui, doc, charts) {
    const months = doc.fines.months;
    const datasets = STATUSES.map(([k, text], i) => ({
      label: text, data: months.map((m) => m.statuses[k].count), backgroundColor: PALETTE[i], stack: "fines",
    }));
    const owed = (m) => m.statuses.due.yuan + m.statuses.upheld.yuan;
    const summary = `近 ${months.length} 个月：${months.map((m) => `${monthName(m.month)} ${sum(STATUSES.map(([k]) => m.statuses[k].count))} 笔、应缴 ${yuan(owed(m))}`).join("；")}。`;
    const { box, canvas } = chartBox(ui, summary, 260);
    const rows = months.slice().reverse().map((m) => [
      monthName(m.month), ...STATUSES.map(([k]) => `${m.statuses[k].count} 笔 / ${yuan(m.statuses[k].yuan)}`),
    ]);
    const card = ui.section("罚款（按月份、按状态）", ui.h("p", { class: "small" }, summary), box,
      fold(ui, ["月份", ...STATUSES.map(([, t]) => t)], rows));
    draw(canvas, { type: "bar", data: { labels: months.map((m) => monthName(m.month)), datasets }, options: { scales: stackedAxes() } }, charts);
    return card;
  }

  // -- the screen -------------------------------------------------------------------

  let drawn = []; // the charts on screen, destroyed before the next render

  async function render(main, ui) {
    drawn.forEach((c) => c.destroy());
    drawn = [];
    if (window.Chart) {
      window.Chart.defaults.font.family = FONT;
      window.Chart.defaults.color = "#52606d";
    }
    const doc = await ui.get("v1/dashboard", { days: 30 });
    const screen = ui.h("div", { class: "dashboard" });
    main.append(screen);
    const pending = [];
    for (const card of [overview, registrations, refusals, floor, ending, pool, fines]) {
      screen.append(card(ui, doc, pending));
    }
    drawn = pending.map((make) => make());
  }

  window.SalesDashboard = { render };
})();
