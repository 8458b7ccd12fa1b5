/* 申诉: appeals of a 判客 decision (decision 0012). The site manager reads the
   queue (GET /v1/appeals?state=…) and upholds or reverses an appeal with a
   reason (POST /v1/appeals/{id}/decision), after a confirmation <dialog>; the
   sales manager files an appeal for a passed-over channel (POST /v1/appeals)
   and reads the queue. console.js calls SalesAppeals.render with its helpers. */
(function () {
  "use strict";

  const STATES = { pending: "待处理", reversing: "改判中", upheld: "维持原判", reversed: "已改判" };
  const RULES = {
    "R-APPEAL-1": "只有在判客中被略过的报备方可以申诉",
    "R-APPEAL-2": "判客后 3 天内可以申诉",
    "R-APPEAL-3": "同一判客、同一报备方只能申诉一次",
    "R-APPEAL-4": "原判客已被更正，或客户此后已有变化（新的报备、成交）",
    "R-APPEAL-5": "申诉只处理一次",
    "R-PROT-1": "含首次推荐共两次，已达上限",
  };

  function explain(ui, error) {
    if (error && error.rule && RULES[error.rule]) {
      ui.notify("error", "未能完成", `${RULES[error.rule]}（${error.rule} · ${error.code}）`);
      return;
    }
    ui.showError(error);
  }

  // asks before an answer; resolves the reason typed, or null when cancelled
  function answerDialog(ui, title, text, confirmText) {
    const { h } = ui;
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "appeal-confirm-title" });
    document.body.append(dialog);
    const reason = h("textarea", { name: "answer-reason", id: "appeal-answer-reason", maxlength: 200, required: true, rows: 3 });
    return new Promise((resolve) => {
      const answer = (yes) => {
        const typed = reason.value.trim();
        if (yes && !typed) {
          reason.setAttribute("aria-invalid", "true");
          reason.focus();
          return;
        }
        if (dialog.open) dialog.close();
        dialog.remove();
        resolve(yes ? typed : null);
      };
      ui.fill(dialog,
        h("h2", { id: "appeal-confirm-title" }, title),
        h("p", {}, text),
        h("div", { class: "field" }, h("label", { for: "appeal-answer-reason" }, "理由（必填）"), reason),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "quiet", onclick: () => answer(false) }, "取消"),
          h("button", { type: "button", class: "danger", onclick: () => answer(true) }, confirmText)));
      dialog.addEventListener("cancel", (event) => {
        event.preventDefault();
        answer(false);
      });
      dialog.showModal();
      reason.focus();
    });
  }

  async function names(ui) {
    try {
      const found = await ui.get("v1/recommenders");
      return new Map(found.registrants.map((r) => [r.id, r.name]));
    } catch {
      return new Map();
    }
  }

  function queue(ui, name, list, named, reload) {
    const { h } = ui;
    const siteManager = ui.role === "site_manager";
    const body = h("div", { class: "appeal-queue" });
    const select = h("select", { name: "state", id: "appeal-state" },
      Object.entries(STATES).map(([value, text]) => h("option", { value, selected: value === name }, text)));
    select.addEventListener("change", () => reload(select.value));
    const who = (id) => named.get(id) || id;

    const decide = (a, outcome) => async () => {
      const reversing = outcome === "reversed";
      const title = reversing ? `改判给 ${who(a.claimant_id)}？` : "维持原判？";
      const text = reversing
        ? `客户 ${a.customer.phone_masked} 的归属与保护期将从原判客时间（${ui.when(a.decided_at)}）起转给 ${who(a.claimant_id)}，原归属方 ${who(a.holder_id)} 的保护期在该时刻结束。双方都会收到通知。`
        : `客户 ${a.customer.phone_masked} 仍归 ${who(a.holder_id)}；申诉方 ${who(a.claimant_id)} 会收到通知。`;
      const reason = await answerDialog(ui, title, text, reversing ? "确认改判" : "确认维持");
      if (reason === null) return;
      try {
        await ui.call("POST", `v1/appeals/${a.appeal_id}/decision`, { body: { outcome, reason } });
      } catch (error) {
        explain(ui, error);
        return;
      }
      ui.notify("ok", reversing ? "已改判" : "已维持原判", `${a.customer.phone_masked} · ${reason}`);
      await reload(select.value);
    };

    const rows = list.map((a) => [
      h("span", { class: "id", title: a.appeal_id }, a.appeal_id.slice(0, 12)),
      a.customer.phone_masked || "—",
      ui.when(a.decided_at),
      who(a.claimant_id),
      who(a.holder_id),
      `${a.reason}${a.filed_by === a.claimant_id ? "" : "（经理代申诉）"}`,
      ui.when(a.window_ends_at),
      a.answer ? `${STATES[a.state]} · ${a.answer.reason}` : STATES[a.state],
      siteManager && (a.state === "pending" || a.state === "reversing")
        ? h("div", { class: "actions" },
            a.state === "pending" ? ui.button("维持原判", decide(a, "upheld"), { class: "quiet" }) : null,
            ui.button("改判", decide(a, "reversed"), { class: "danger" }))
        : "—",
    ]);
    ui.fill(body, ui.table(
      ["申诉", "客户", "判客时间", "申诉方", "原归属", "理由", "申诉截止", "状态", "处理"],
      rows, `没有${STATES[name]}的申诉`));
    return ui.section("判客申诉",
      h("div", { class: "field" }, h("label", { for: "appeal-state" }, "状态"), select), body);
  }

  function fileForm(ui, named, reload) {
    const { h } = ui;
    const options = [h("option", { value: "" }, "请选择报备方")].concat(
      Array.from(named.entries()).map(([id, name]) => h("option", { value: id }, name)));
    return ui.form("代渠道申诉", [
      ui.input("客户手机号", { name: "phone", required: true, maxlength: 32, inputmode: "tel" }),
      ui.input("被略过的报备方", { name: "claimant_id", tag: "select", required: true, options }),
      ui.input("判客编号（可不填：该客户最近一次判客）", { name: "decision_id", maxlength: 64 }),
      ui.input("申诉理由", { name: "reason", tag: "textarea", required: true, maxlength: 200, rows: 3 },
        "判客后 3 天内、每个报备方对同一判客只能申诉一次；由案场经理处理。"),
    ], "提交申诉", async (data) => {
      const body = {
        phone: (data.get("phone") || "").toString().trim(),
        claimant_id: (data.get("claimant_id") || "").toString(),
        reason: (data.get("reason") || "").toString().trim(),
      };
      const decision = (data.get("decision_id") || "").toString().trim();
      if (decision) body.decision_id = decision;
      try {
        await ui.call("POST", "v1/appeals", { body });
      } catch (error) {
        explain(ui, error);
        return;
      }
      ui.notify("ok", "申诉已提交", `${named.get(body.claimant_id) || body.claimant_id} · 等待案场经理处理`);
      await reload("pending");
    }, { className: "appeal-form" });
  }

  async function render(main, ui) {
    const named = await names(ui);
    const reload = async (name) => {
      const found = await ui.get("v1/appeals", { state: name });
      ui.fill(main,
        queue(ui, name, found.data, named, reload),
        ui.role === "sales_manager" ? fileForm(ui, named, reload) : null);
    };
    await reload("pending");
  }

  window.SalesAppeals = { render };
})();
