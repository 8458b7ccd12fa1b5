/* 事件推送: Party A's admin sets where each registrant's events are pushed
   (PUT/DELETE /v1/registrants/{id}/endpoint), reads the delivery log
   (GET /v1/registrants/{id}/deliveries) and replays a delivery
   (POST …/deliveries/{id}/replay). Each change asks first in a <dialog>.
   console.js calls SalesDeliveries.render with its helpers (decision 0010). */
(function () {
  "use strict";

  const KINDS = { channel: "渠道公司", distribution: "分销机构", ecommerce: "电商" };
  const TYPES = {
    "registration.protected": "报备生效（开始保护）",
    "registration.lapsed": "报备失效",
    "protection.ending_soon": "保护期即将结束",
    "protection.ended": "保护期结束",
    "registration.converted": "已成交",
  };
  const STATUSES = { pending: "待推送", delivered: "已送达", dead: "已放弃" };
  const REASONS = { gone: "对方返回 410，已停止推送", "retries exhausted": "24 小时内重试均失败" };
  const ERRORS = {
    timeout: "对方响应超时",
    connection: "无法连接",
    tls: "证书或加密连接失败",
    "registrant disabled": "报备方已停用，未推送",
  };
  const PAGE = 20;

  // asks before a change; resolves true only for the confirm button
  function confirmDialog(ui, title, text, confirmText) {
    const dialog = ui.h("dialog", { class: "confirm", "aria-labelledby": "delivery-confirm-title" });
    document.body.append(dialog);
    return new Promise((resolve) => {
      const answer = (yes) => {
        if (dialog.open) dialog.close();
        dialog.remove();
        resolve(yes);
      };
      ui.fill(dialog,
        ui.h("h2", { id: "delivery-confirm-title" }, title),
        ui.h("p", {}, text),
        ui.h("div", { class: "actions" },
          ui.h("button", { type: "button", class: "quiet", onclick: () => answer(false) }, "取消"),
          ui.h("button", { type: "button", class: "danger", onclick: () => answer(true) }, confirmText)));
      dialog.addEventListener("cancel", (event) => {
        event.preventDefault();
        answer(false);
      });
      dialog.showModal();
      dialog.querySelector("button.quiet").focus();
    });
  }

  function attemptText(attempt) {
    if (!attempt) return "—";
    let what;
    if (attempt.status_code !== null) what = `HTTP ${attempt.status_code}`;
    else if (attempt.error && attempt.error.startsWith("endpoint not allowed")) what = "地址不允许访问（内网或非 https）";
    else what = ERRORS[attempt.error] || attempt.error || "失败";
    return `${what} · ${attempt.latency_ms} 毫秒`;
  }

  function endpointCard(ui, registrant, endpoint, reload) {
    const { h } = ui;
    const status = endpoint
      ? endpoint.status === "active"
        ? h("span", { class: "badge" }, "推送中")
        : h("span", { class: "badge warn" }, "已停用（对方返回 410）")
      : h("span", { class: "badge" }, "未设置");
    const facts = endpoint
      ? h("dl", { class: "facts" },
          h("dt", {}, "推送地址"), h("dd", { class: "endpoint-url" }, endpoint.url),
          h("dt", {}, "状态"), h("dd", {}, status),
          h("dt", {}, "推送起点"), h("dd", {}, ui.when(endpoint.since)),
          endpoint.disabled_at ? [h("dt", {}, "停用时间"), h("dd", {}, ui.when(endpoint.disabled_at))] : null)
      : h("p", { class: "empty" }, `${registrant.name} 尚未设置推送地址：事件只能通过 GET /v1/events 拉取。`);
    const setForm = ui.form(endpoint ? "更改推送地址" : "设置推送地址", [
      ui.input("推送地址（https://）", { name: "url", type: "url", required: true, maxlength: 2048, value: endpoint ? endpoint.url : "", placeholder: "https://hooks.example.com/sales" },
        "每个事件都以报备方的签名密钥签名（X-Signature），带 Event-Id 以便去重；失败后按退避重试 24 小时。内网、本机地址会被拒绝。"),
    ], "保存推送地址", async (data, _key, formEl) => {
      const url = (data.get("url") || "").toString().trim();
      const ok = await confirmDialog(ui, `为 ${registrant.name} 设置推送地址？`,
        `此后 ${registrant.name} 的每个事件都会推送到 ${url}。`, "确认设置");
      if (!ok) return;
      try {
        await ui.call("PUT", `v1/registrants/${registrant.id}/endpoint`, { body: { url } });
      } catch (error) {
        if (error.code === "ENDPOINT_NOT_ALLOWED") {
          ui.notify("error", "地址不允许", "推送地址必须以 https:// 开头，且不能指向内网、本机或保留地址。", ...(error.fields || []).map((f) => `原因：${f.message}`));
          formEl.querySelector("[name=url]").setAttribute("aria-invalid", "true");
          return;
        }
        throw error;
      }
      ui.notify("ok", "推送地址已保存", `${registrant.name} 的事件将推送到 ${url}`);
      await reload();
    }, { className: "endpoint-form" });
    const clear = endpoint
      ? ui.button("停止推送", async () => {
          const ok = await confirmDialog(ui, `停止向 ${registrant.name} 推送？`,
            "停止后不再推送新事件；尚未送达的推送会保留，重新设置地址后继续。报备方仍可拉取 GET /v1/events。", "确认停止");
          if (!ok) return;
          await ui.call("DELETE", `v1/registrants/${registrant.id}/endpoint`);
          ui.notify("ok", "已停止推送", registrant.name);
          await reload();
        }, { class: "danger" })
      : null;
    return [ui.section(`${registrant.name} 的推送地址`, facts, clear ? ui.h("div", { class: "actions" }, clear) : null), setForm];
  }

  function logCard(ui, registrant, first, reload) {
    const { h } = ui;
    const body = h("div", { class: "delivery-log" });
    const rows = [];
    const more = h("div", { class: "actions" });

    const row = (d) => [
      h("span", { class: "id", title: d.id }, d.id),
      TYPES[d.event.type] || d.event.type,
      h("span", { class: `delivery-status ${d.status}` }, STATUSES[d.status] || d.status, d.reason ? ` · ${REASONS[d.reason] || d.reason}` : ""),
      String(d.attempts),
      d.log.length ? `${ui.when(d.log[0].at)} · ${attemptText(d.log[0])}` : "—",
      d.status === "pending" ? ui.when(d.next_attempt_at) : ui.when(d.finished_at),
      ui.button("重新推送", async () => {
        const ok = await confirmDialog(ui, "重新推送这个事件？",
          `事件 ${d.id}（${TYPES[d.event.type] || d.event.type}）将再次推送给 ${registrant.name}，一分钟内发出，失败后重试 24 小时。对方应按 Event-Id 去重。`, "确认重新推送");
        if (!ok) return;
        await ui.call("POST", `v1/registrants/${registrant.id}/deliveries/${d.id}/replay`, { body: {} });
        ui.notify("ok", "已安排重新推送", `事件 ${d.id}`);
        await reload();
      }, { class: "quiet" }),
    ];

    const draw = (page) => {
      rows.push(...page.data.map(row));
      ui.fill(body, ui.table(["事件", "类型", "状态", "尝试次数", "最近一次尝试", "下次重试 / 结束", "操作"], rows, "暂无推送记录"));
      ui.fill(more, page.next_cursor
        ? ui.button("加载更早的记录", async () => {
            draw(await ui.get(`v1/registrants/${registrant.id}/deliveries`, { limit: PAGE, cursor: page.next_cursor }));
          }, { class: "quiet" })
        : null);
    };
    draw(first);
    return ui.section(`${registrant.name} 的推送记录`, body, more);
  }

  async function render(main, ui) {
    const { h } = ui;
    const doc = await ui.get("v1/registrants");
    const registrants = doc.registrants;
    const detail = h("div", { class: "deliveries" });
    const picker = h("select", { id: "delivery-registrant", name: "registrant" },
      h("option", { value: "" }, "请选择报备方"),
      registrants.map((r) => h("option", { value: r.id }, `${r.name}（${KINDS[r.kind] || r.kind}${r.enabled ? "" : "，已停用"}）`)));

    const show = async () => {
      const registrant = registrants.find((r) => r.id === picker.value);
      if (!registrant) {
        ui.fill(detail);
        return;
      }
      let endpoint = null;
      try {
        endpoint = await ui.get(`v1/registrants/${registrant.id}/endpoint`);
      } catch (error) {
        if (error.status !== 404) throw error;
      }
      const log = await ui.get(`v1/registrants/${registrant.id}/deliveries`, { limit: PAGE });
      ui.fill(detail, endpointCard(ui, registrant, endpoint, show), logCard(ui, registrant, log, show));
    };
    picker.addEventListener("change", () => show().catch((error) => ui.showError(error, null)));

    main.append(
      ui.section("事件推送",
        h("p", {}, "为报备方设置接收事件的 https 地址：报备生效、失效、保护期即将结束、保护期结束、成交等事件会逐个签名推送，失败后重试 24 小时；报备方也可以继续拉取。"),
        h("div", { class: "field" }, h("label", { for: "delivery-registrant" }, "报备方"), picker)),
      detail);
    if (registrants.length === 1) {
      picker.value = registrants[0].id;
      await show();
    }
  }

  window.SalesDeliveries = { render };
})();
