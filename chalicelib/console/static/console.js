// The sales-office console: one page per role, every action one call to the
// same API that curl uses, with the staff member's bearer token. No build
// step, no framework: what is in this file is what the browser runs.
"use strict";

(() => {
  const TOKEN_KEY = "sales-office.staff-token"; // sessionStorage: gone with the tab
  const ZONE = "Asia/Shanghai";

  // -- words --------------------------------------------------------------------

  const ROLE_NAMES = {
    front_desk: "前台",
    consultant: "置业顾问",
    channel_assistant: "渠道助理",
    sales_admin: "销管",
    sales_manager: "销售经理",
    site_manager: "案场经理",
    party_a_admin: "甲方管理员",
  };

  // each rule of RULES.md in one plain sentence, shown with every refusal
  const RULES = {
    "R-REG-1": "置业顾问须在客户到访当天（北京时间）报备；逾期补录须经销售经理批准，最晚到次日 18:00。",
    "R-REG-2": "渠道须在带客到访当天报备；逾期补录须经销售经理批准，最晚到次日 18:00。",
    "R-REG-3": "分销须在到访前至少 30 分钟报备，并在报备后 24 小时内陪同客户到访；过早或过期的到访不予认可。",
    "R-REG-4": "全民经纪人须先经甲方认证才能推荐，到访时出示身份证，与认证记录核对一致。",
    "R-DUP-1": "客户已有有效保护（保护期未结束、分销临时保护仍在有效期，或仍归属置业顾问），重复报备无效，先到先得。",
    "R-PROT-1": "同一客户含首次最多被推荐两次；第二次保护结束后不再接受推荐。",
    "R-PROT-2": "首次推荐保护 60 天，第二次 30 天，到期时刻即结束。",
    "R-PROT-3": "电商报备按首次推荐保护，保护期内其他报备方不能报备。",
    "R-RECLAIM-1": "最后一次到访满 3 个月且未成交的客户，每月 1 日 02:00 收回公共池，由销售经理重新分配。",
    "R-FLOOR-1": "分销和全民经纪人须先报备，再陪同客户到访。",
    "R-FLOOR-2": "客户先由前台询客并登记到离时间；判客由渠道助理完成，置业顾问不得提前接待或干预。",
    "R-FLOOR-3": "渠道客户由置业顾问按轮排接待，由前台分配。",
    "R-FLOOR-4": "渠道客户须签到；同组到访但不是一家人、各自有购房意向的，分别登记为不同客户。",
    "R-FLOOR-5": "接待渠道客户后，置业顾问须填写带看确认单；仅领礼品的客户、冒充客户的派单人员经案场经理签字可豁免。",
    "R-FINE-1": "前台询客之前，置业顾问（含渠道）私自接待或引领客户：罚顾问，每次 100 元。",
    "R-FINE-2": "前台未按标准话术询客或缩减话术：罚前台，每次 30 元。",
    "R-FINE-3": "置业顾问拒绝为客户签到：罚顾问 100 元。",
    "R-FINE-4": "置业顾问拒绝填写带看确认单：罚顾问 100 元。",
    "R-FINE-5": "派单人员（红帽子）冒充客户：罚渠道负责人 100 元。",
  };

  // each rule by a short name, for tables and CSVs where the sentence is too long
  const RULE_TITLES = {
    "R-REG-1": "置业顾问须当天报备",
    "R-REG-2": "渠道须当天报备",
    "R-REG-3": "分销须提前 30 分钟报备、24 小时内到访",
    "R-REG-4": "全民经纪人须先认证、陪同到访",
    "R-DUP-1": "客户已有有效保护，重复报备无效",
    "R-PROT-1": "同一客户最多推荐两次",
    "R-PROT-2": "保护期 60 天 / 30 天",
    "R-PROT-3": "电商报备按首次推荐保护",
    "R-RECLAIM-1": "满 3 个月未成交收回公共池",
    "R-FLOOR-1": "先报备，再陪同到访",
    "R-FLOOR-2": "前台先询客，渠道助理判客",
    "R-FLOOR-3": "按轮排接待",
    "R-FLOOR-4": "每户分别签到",
    "R-FLOOR-5": "接待后须填带看确认单",
    "R-FINE-1": "前台询客前私自接待客户",
    "R-FINE-2": "前台未按标准话术询客",
    "R-FINE-3": "置业顾问拒绝为客户签到",
    "R-FINE-4": "置业顾问拒绝填写带看确认单",
    "R-FINE-5": "派单人员冒充客户",
  };

  // a rule as people read it: its name, with its id to look it up
  const ruleText = (rule) => (rule ? `${RULE_TITLES[rule] || "规则"}（${rule}）` : "—");

  const CODES = {
    VALIDATION_ERROR: "填写的内容有误，请检查标出的项目。",
    INVALID_PHONE: "不是有效的大陆手机号码。",
    UNAUTHENTICATED: "令牌无效、已停用或已撤销，请重新登录。",
    FORBIDDEN: "您的岗位无权进行这项操作。",
    NOT_FOUND: "没有找到这条记录。",
    METHOD_NOT_ALLOWED: "不支持这项操作。",
    DUPLICATE_LIVE_CLAIM: "该客户已有有效的报备保护，本次报备不成立。",
    MASKED_CLAIM_MATCH: "号码前3后4位与一条有效报备相符（隐号报备），本次报备不成立，请到访时申请判客。",
    RECOMMENDATION_LIMIT: "该客户已被推荐两次，不再接受推荐。",
    REGISTRATION_TOO_LATE: "已超过报备时限；补录须先经销售经理批准。",
    TOO_CLOSE_TO_VISIT: "距到访不足 30 分钟，分销报备不成立。",
    BROKER_NOT_CERTIFIED: "该经纪人未通过甲方认证，或认证晚于报备。",
    BROKER_ID_MISMATCH: "身份证与经纪人的认证记录不符。",
    IDEMPOTENCY_IN_PROGRESS: "同一次提交仍在处理中，请稍后再试。",
    VISIT_NOT_RECOGNIZED: "本次到访不符合分销报备的到访条件，不予认可。",
    CLAIM_NOT_LIVE: "该报备已不在保护期内，不能判给它。",
    DECISION_SUPERSEDED: "判客结果已经更新，请刷新后再操作。",
    NO_CONSULTANT_AVAILABLE: "今日轮排中没有可以分配的置业顾问。",
    ALREADY_RECORDED: "这件事已经登记过了。",
    CUSTOMER_UNKNOWN: "系统中没有这位客户。",
    FINE_STATE_CONFLICT: "罚单当前的状态不允许这项操作，请刷新。",
    CANNOT_DISABLE_SELF: "不能停用自己的账号，请另一位甲方管理员操作。",
    PAYLOAD_TOO_LARGE: "提交的内容过长。",
    UNSUPPORTED_MEDIA_TYPE: "请求格式不受支持。",
    IDEMPOTENCY_KEY_REUSED: "这次提交的内容与上次不同，请重新提交。",
    RATE_LIMITED: "操作过于频繁，请稍后再试。",
    UNAVAILABLE: "系统暂时不可用。操作可能已经生效，请稍后刷新查看，再决定是否重试。",
    INTERNAL: "系统出错，请联系管理员。",
    NETWORK: "网络中断，没有收到答复：操作可能已经生效。请再提交一次（同一次提交不会重复登记），或刷新查看。",
  };

  const KINDS = {
    channel: "渠道",
    distribution: "分销",
    ecommerce: "电商",
    broker: "全民经纪人",
    consultant: "置业顾问",
  };

  const CLAIM_STATES = {
    protected: "保护中",
    provisional: "临时保护",
    owned: "顾问自有",
    expired: "已到期",
    lapsed: "已失效",
    converted: "已成交",
  };

  const FORM_STATES = {
    pending: "待填写",
    overdue: "已逾期",
    filed: "已填写",
    exempt: "已豁免",
    not_required: "无需填写",
  };

  const FINE_STATES = {
    proposed: "待确认",
    due: "应缴",
    appealed: "申诉中",
    dismissed: "已驳回",
    cancelled: "已撤销",
    upheld: "维持",
  };

  // the audit trail's actions, as the lookup's history shows them
  const ACTIONS = {
    "registration.accepted": "报备成功",
    "registration.refused": "报备被拒",
    "registration.protected": "分销到访确认，开始保护",
    "registration.lapsed": "临时保护失效",
    "registration.resolved": "隐号报备匹配成功",
    "masked_claim.not_this_customer": "姓氏不符：不是隐号报备的客户",
    "registration.converted": "成交",
    "protection.ending_soon": "保护即将到期",
    "protection.ended": "保护到期",
    "late_entry.approved": "批准补录",
    "ownership.decided": "判客",
    "ownership.refused": "判客被拒",
    "visit.assigned": "分配顾问",
    "visit.signed_in": "签到",
    "form.filed": "提交带看确认单",
    "form.exempted": "确认单豁免",
    "customer.reclaimed": "收回公共池",
    "pool.assigned": "公共池分配",
    "deal.recorded": "登记成交",
  };

  const EXEMPTIONS = { gift_only: "仅领取礼品", flyer_impostor: "派单人员冒充客户" };

  // -- time: every date and time in Asia/Shanghai, 24-hour -------------------------

  let skew = 0; // server clock minus this device's, from each answer's Date header

  function serverNow() {
    return new Date(Date.now() + skew);
  }

  const PARTS = new Intl.DateTimeFormat("en-GB", {
    timeZone: ZONE,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });

  function local(date) {
    const p = {};
    for (const { type, value } of PARTS.formatToParts(date)) p[type] = value;
    return p;
  }

  function when(iso) {
    if (!iso) return "—";
    const p = local(new Date(iso));
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
  }

  function clock(iso) {
    if (!iso) return "—";
    const p = local(new Date(iso));
    return `${p.hour}:${p.minute}`;
  }

  function today() {
    const p = local(serverNow());
    return `${p.year}-${p.month}-${p.day}`;
  }

  function dayBefore(day) {
    const d = new Date(`${day}T12:00:00+08:00`);
    d.setUTCDate(d.getUTCDate() - 1);
    const p = local(d);
    return `${p.year}-${p.month}-${p.day}`;
  }

  // the forms still owed, yesterday's (overdue from midnight) and today's
  async function openForms() {
    const day = today();
    const [before, now] = await Promise.all([get("v1/forms", { date: dayBefore(day) }), get("v1/forms", { date: day })]);
    return { day, open: [...before.overdue, ...before.pending, ...now.overdue, ...now.pending], filed: [...before.filed, ...now.filed] };
  }

  function thisMonth() {
    return today().slice(0, 7);
  }

  // a datetime-local value ("2026-12-02T10:30") read as Shanghai time
  function fromLocalInput(value) {
    return value.length === 16 ? `${value}:00+08:00` : `${value}+08:00`;
  }

  // "now" for a keyed submission: fixed with its key, so a retry sends the same body
  const stamps = new Map();

  function stampFor(key) {
    if (!stamps.has(key)) {
      const p = local(serverNow());
      stamps.set(key, `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}+08:00`);
    }
    return stamps.get(key);
  }

  // -- the API ---------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, error) {
      super(error.message || error.code);
      this.status = status;
      this.code = error.code;
      this.rule = error.rule || null;
      this.fields = error.fields || [];
    }
  }

  const token = () => sessionStorage.getItem(TOKEN_KEY);

  async function call(method, path, { body, key, file } = {}) {
    const headers = { Authorization: `Bearer ${token()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (key) headers["Idempotency-Key"] = key;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, { code: "NETWORK", message: "network" });
    }
    const date = Date.parse(response.headers.get("Date") || "");
    if (!Number.isNaN(date)) skew = date - Date.now();
    if (response.ok && file) return response.blob();
    const text = await response.text();
    let doc = null;
    try {
      doc = JSON.parse(text);
    } catch {
      doc = null;
    }
    if (!response.ok) {
      if (response.status === 401 && me) {
        signOut("登录已失效（令牌被停用或撤销），请重新输入令牌");
        throw new ApiError(401, { code: "UNAUTHENTICATED", message: "signed out" });
      }
      throw new ApiError(response.status, (doc && doc.error) || { code: "INTERNAL", message: text });
    }
    return doc;
  }

  const get = (path, params) => call("GET", params ? `${path}?${new URLSearchParams(params)}` : path);
  const post = (path, body, key) => call("POST", path, { body, key });
  const put = (path, body) => call("PUT", path, { body });

  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  async function download(path, params, filename) {
    const blob = await call("GET", `${path}?${new URLSearchParams(params)}`, { file: true });
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: filename, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // -- the page --------------------------------------------------------------------

  function h(tag, attrs = {}, ...kids) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
      else if (name === "class") el.className = value;
      else if (value === true) el.setAttribute(name, "");
      else el.setAttribute(name, String(value));
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }

  const $ = (id) => document.getElementById(id);

  // replaceChildren, skipping the parts a screen leaves out (null, false)
  function fill(el, ...kids) {
    el.replaceChildren(...kids.flat(Infinity).filter((kid) => kid !== null && kid !== undefined && kid !== false));
  }

  function say(text) {
    $("status").textContent = text;
  }

  // the one notice box (role=alert), kept by reference: an error moves it
  // beside the form or card that failed, so it is read where the work is
  let noticeBox = null;

  function notice() {
    if (!noticeBox) noticeBox = $("notice");
    return noticeBox;
  }

  // back under the tabs, where a screen's own refresh cannot take it away
  function homeNotice() {
    const box = notice();
    const tabs = $("tabs");
    if (box.previousElementSibling !== tabs) tabs.after(box);
  }

  function clearNotice() {
    const box = notice();
    box.hidden = true;
    fill(box);
    homeNotice();
  }

  function notify(kind, title, ...lines) {
    notifyAt(null, kind, title, ...lines);
  }

  function notifyAt(anchor, kind, title, ...lines) {
    const box = notice();
    box.className = `notice ${kind}`;
    fill(box,
      h("strong", {}, title),
      ...lines.filter(Boolean).map((line) => (line instanceof Node && line.tagName === "DETAILS" ? line : h("p", {}, line))),
      h("button", { type: "button", class: "quiet", onclick: clearNotice }, "知道了"),
    );
    const near = anchor && anchor.isConnected ? anchor.closest(".columns") || anchor : null;
    if (near) {
      box.classList.add("near");
      near.after(box);
    } else {
      homeNotice();
    }
    box.hidden = false;
    box.scrollIntoView({ block: near ? "center" : "nearest" });
  }

  // -- confirmation before what cannot be undone ------------------------------------

  let dialog = null;

  // resolves true only when the person presses the confirm button; Esc,
  // 取消 and closing all answer false
  function confirmAction(title, text, confirmText) {
    if (!dialog) {
      dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-title" });
      document.body.append(dialog);
    }
    return new Promise((resolve) => {
      const answer = (yes) => {
        if (dialog.open) dialog.close();
        resolve(yes);
      };
      fill(dialog,
        h("h2", { id: "confirm-title" }, title),
        h("p", {}, text),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "quiet", onclick: () => answer(false) }, "取消"),
          h("button", { type: "button", class: "danger", onclick: () => answer(true) }, confirmText)));
      dialog.oncancel = (event) => {
        event.preventDefault();
        answer(false);
      };
      dialog.showModal();
      dialog.querySelector("button.quiet").focus();
    });
  }

  // a local refusal, before anything is sent: said like the API's
  class Missing extends Error {
    constructor(field, message) {
      super(message);
      this.field = field;
    }
  }

  const FIELD_WORDS = [
    [/phone/, "手机号"],
    [/registration_id/, "报备"],
    [/name/, "姓名"],
    [/kind/, "类型"],
    [/role/, "岗位"],
    [/status/, "状态"],
    [/format/, "格式"],
    [/limit|cursor/, "分页"],
    [/households/, "签到的住户"],
    [/visit_id/, "到访"],
    [/occurred_at/, "发生时间"],
    [/skip/, "跳过的顾问"],
    [/enabled/, "启用状态"],
    [/amount/, "金额"],
    [/party_size/, "人数"],
    [/visit_at|visit_date/, "到访时间"],
    [/reason/, "原因"],
    [/note/, "备注"],
    [/id_card/, "身份证"],
    [/consultant_id/, "置业顾问"],
    [/registrant_id|accompanied_by/, "报备方"],
    [/payer_id|payer/, "责任人"],
    [/led_in_by/, "引领的顾问"],
    [/consultants/, "排班顾问"],
    [/date|month/, "日期"],
  ];

  // the API's field messages (pydantic's, in English) as staff read them
  const FIELD_MESSAGES = [
    [/at most (\d+) characters?/, (m) => `最多 ${m[1]} 个字`],
    [/at least 1 characters?|required|missing/i, () => "必填"],
    [/at least (\d+) characters?/, (m) => `至少 ${m[1]} 个字`],
    [/1\[3-9\]|mainland mobile|mobile number/, () => "应为 11 位大陆手机号码"],
    [/17 digits/, () => "应为 18 位身份证号码（末位可为 X）"],
    [/unknown/, () => "不认识的项目"],
    [/greater than or equal to (\d+)/, (m) => `不能小于 ${m[1]}`],
    [/less than or equal to (\d+)/, (m) => `不能大于 ${m[1]}`],
    [/valid integer|valid number/, () => "应为数字"],
    [/date|time|YYYY/i, () => "日期或时间格式不对"],
    [/should match pattern|pattern/i, () => "含有不允许的字符，请从列表中选择"],
    [/is paid by a channel/, () => "这项违规由渠道负责人承担，请选择渠道"],
    [/is paid by a front desk/, () => "这项违规由前台承担，请选择前台人员"],
    [/is paid by a consultant/, () => "这项违规由置业顾问承担，请选择置业顾问"],
    [/valid boolean|valid string|valid list|type/i, () => "格式不对"],
  ];

  // a message in Chinese already (the API's own, or ours) is shown as it is;
  // anything else in English becomes a plain Chinese one
  function fieldMessage(message) {
    const found = FIELD_MESSAGES.find(([pattern]) => pattern.test(message));
    if (found) return found[1](message.match(found[0]));
    return /[A-Za-z]/.test(message) ? "填写有误，请检查" : message;
  }

  function technical(...lines) {
    return h("details", { class: "technical" }, h("summary", {}, "技术信息"), lines.filter(Boolean).map((line) => h("p", {}, h("small", {}, line))));
  }

  function fieldWord(field) {
    const household = field.match(/^households\.(\d+)\.(name|phone)$/);
    if (household) return `第 ${Number(household[1]) + 1} 户的${household[2] === "name" ? "姓名" : "手机号"}`;
    const found = FIELD_WORDS.find(([pattern]) => pattern.test(field));
    return found ? found[1] : "填写的内容";
  }

  // a refusal: the rule id and what the rule says; a failure: what to do next
  function showError(error, form, anchor = form) {
    if (error instanceof Missing) {
      notifyAt(anchor, "error", "请补全后再提交", error.message);
      const input = form && form.querySelector(`[name="${CSS.escape(error.field)}"]`);
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
      }
      return;
    }
    if (!(error instanceof ApiError)) {
      // a fault of this page: the person reads what to do; the detail is folded
      notifyAt(anchor, "error", "操作未完成", "页面出错，请刷新后重试。", technical(String(error)));
      return;
    }
    const lines = [CODES[error.code] || "操作未完成，请稍后再试。"];
    if (error.rule) lines.push(h("span", {}, h("span", { class: "rule" }, error.rule), ` ${RULES[error.rule] || RULE_TITLES[error.rule] || ""}`));
    for (const f of error.fields) lines.push(`${fieldWord(f.field)}：${fieldMessage(f.message)}`);
    // what an operator needs to trace it, out of the floor staff's way
    lines.push(technical(`代码 ${error.code}${error.status ? ` · HTTP ${error.status}` : ""}`, error.message));
    notifyAt(anchor, "error", error.rule ? `已拒绝（${error.rule}）` : "操作未完成", ...lines);
    if (form) {
      for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
      for (const f of error.fields) {
        const household = f.field.match(/^households\.(\d+)\.(name|phone)$/);
        const name = household ? `${household[2]}${Number(household[1]) + 1}` : f.field.split(".")[0];
        const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
        if (input) input.setAttribute("aria-invalid", "true");
      }
    }
  }

  // a form whose submit runs `act`; a retried submission keeps its idempotency
  // key until an answer settles it, so a lost reply never writes twice
  function form(title, fields, submitText, act, { keyed = false, className = "" } = {}) {
    let key = newKey();
    const button = h("button", { type: "submit" }, submitText);
    const el = h("form", { class: `card ${className}` }, h("h2", {}, title), fields, h("div", { class: "actions" }, button));
    el.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearNotice();
      for (const marked of el.querySelectorAll("[aria-invalid]")) marked.removeAttribute("aria-invalid");
      button.disabled = true;
      say("提交中…");
      try {
        await act(new FormData(el), keyed ? key : undefined, el);
        key = newKey();
        if (keyed && el.isConnected) el.reset();
      } catch (error) {
        const settled = error instanceof ApiError && error.status >= 400 && error.status < 500 && ![409, 429].includes(error.status);
        if (settled || (error instanceof ApiError && error.rule)) key = newKey();
        showError(error, el);
      } finally {
        button.disabled = false;
        say("");
      }
    });
    return el;
  }

  let fieldCount = 0;

  function input(label, attrs = {}, hint = null) {
    const id = `f${++fieldCount}`;
    const control = attrs.tag === "select" ? h("select", { ...attrs, tag: null, options: null, id }, attrs.options || [])
      : attrs.tag === "textarea" ? h("textarea", { ...attrs, tag: null, id })
      : h("input", { type: "text", ...attrs, id });
    return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("small", {}, hint) : null);
  }

  function checkbox(label, attrs = {}) {
    const id = `f${++fieldCount}`;
    return h("div", { class: "field check" }, h("input", { type: "checkbox", ...attrs, id }), h("label", { for: id }, label));
  }

  const option = (value, text, selected = false) => h("option", { value, selected }, text);

  function button(text, onclick, attrs = {}) {
    return h("button", {
      type: "button",
      ...attrs,
      onclick: async (event) => {
        const b = event.currentTarget;
        clearNotice();
        b.disabled = true;
        try {
          await onclick(event);
        } catch (error) {
          showError(error, null, b.isConnected ? b.closest("form, li.visit, .card") : null);
        } finally {
          b.disabled = false;
        }
      },
    }, text);
  }

  function table(headers, rows, empty = "暂无记录") {
    if (!rows.length) return h("p", { class: "empty" }, empty);
    return h("div", { class: "scroll" }, h("table", {},
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c, i) => h("td", { "data-label": headers[i] }, c)))))));
  }

  function section(title, ...kids) {
    return h("section", { class: "card" }, h("h2", {}, title), kids);
  }

  function trim(data, name) {
    const value = (data.get(name) || "").toString().trim();
    return value === "" ? undefined : value;
  }

  // -- people's names, for ids the API answers with --------------------------------

  const names = new Map();

  function known(list) {
    for (const one of list || []) if (one && one.id && one.name) names.set(one.id, one.name);
  }

  // a visit logged without a phone has no customer yet
  const phoneOf = (visit) => (visit.customer && visit.customer.phone_masked) || "未留手机号";
  const nameOf = (visit) => (visit.customer && visit.customer.name) || "";
  // the customer as people say it: the name, the masked phone beside it
  const customerText = (visit) => (nameOf(visit) ? `${nameOf(visit)}（${phoneOf(visit)}）` : phoneOf(visit));

  const who = (id) => (id ? names.get(id) || id : "—");

  const ROSTER_READERS = ["front_desk", "channel_assistant", "sales_manager", "site_manager"];

  async function roster(day) {
    const doc = await get(`v1/rosters/${day}`);
    known(doc.queue);
    return doc;
  }

  // who may accompany or recommend now (names for the pickers)
  async function recommenders() {
    const doc = await get("v1/recommenders");
    known(doc.registrants);
    known(doc.brokers);
    return doc;
  }

  function recommenderOptions(doc, { brokers = true } = {}) {
    return [
      ...doc.registrants.map((r) => option(r.id, `${r.name}（${KINDS[r.kind] || r.kind}）`)),
      ...(brokers ? doc.brokers.map((b) => option(b.id, `${b.name}（${KINDS.broker}）`)) : []),
    ];
  }

  // -- pickers: people, registrants and visits chosen by name, never typed as ids ------

  // the staff by name for the managers' pickers (no tokens in it)
  async function directory(role) {
    const doc = await get("v1/staff/directory", role ? { role } : undefined);
    known(doc.staff);
    return doc.staff;
  }

  // [{id, text}] with each text unique, so the text typed picks one id
  function choices(list) {
    const seen = new Map();
    return list.map((one) => {
      let text = one.text;
      if (seen.has(text)) text = `${text} · 尾号 ${one.id.slice(-4)}`;
      seen.set(text, one.id);
      return { id: one.id, text };
    });
  }

  const staffChoices = (staff) => choices(staff.map((s) => ({ id: s.id, text: `${s.name}（${ROLE_NAMES[s.role] || "员工"}${s.enabled ? "" : "，已停用"}）` })));

  // a text field with a list to search (type part of a name): the form reads
  // the id of the text picked
  function picker(label, name, list, { required = false, hint = null, placeholder = "输入姓名或名称搜索" } = {}) {
    const id = `list${++fieldCount}`;
    const options = h("datalist", { id }, list.map((c) => h("option", { value: c.text })));
    const field = input(label, { name, list: id, required, autocomplete: "off", placeholder }, hint);
    field.append(options);
    field.choices = list;
    return field;
  }

  function setChoices(field, list) {
    field.choices = list;
    fill(field.querySelector("datalist"), list.map((c) => h("option", { value: c.text })));
  }

  // the id of what was picked; nothing typed is undefined; text that picks
  // nobody is refused in Chinese before anything is sent
  function picked(data, field, what) {
    const name = field.querySelector("input").name;
    const text = trim(data, name);
    if (text === undefined) return undefined;
    // the text as listed; else the one entry that contains it; else an id an operator pasted
    const partial = field.choices.filter((c) => c.text.includes(text));
    const found = field.choices.find((c) => c.text === text) || (partial.length === 1 ? partial[0] : null) || field.choices.find((c) => c.id === text);
    if (!found) throw new Missing(name, `请从列表中选择${what}（可输入姓名的一部分搜索）。`);
    return found.id;
  }

  // -- 前台 front desk ---------------------------------------------------------------

  async function frontDesk(main) {
    const day = today();
    const [duty, visits, yesterday, people] = await Promise.all([
      roster(day), get("v1/visits", { date: day }), get("v1/visits", { date: dayBefore(day) }), recommenders(),
    ]);
    const stayed = yesterday.data.filter((v) => !v.departed_at);
    const arrival = form("登记到访（询客后）", [
      input("客户手机号", { name: "phone", type: "tel", inputmode: "tel", autocomplete: "off" }, "客户愿意留下时填写，任意格式均可"),
      input("姓名", { name: "name", maxlength: 64, autocomplete: "off" }, "填写姓名可匹配隐号报备"),
      input("来访人数", { name: "party_size", type: "number", min: 1, max: 50, value: 1, required: true }),
      // unticked: ticking it says the script was done (R-FINE-2 rests on it)
      checkbox("已完成标准询客话术", { name: "greeted" }),
      input("陪同的报备方", { tag: "select", name: "accompanied_by", options: [option("", "无人陪同"), ...recommenderOptions(people)] }, "渠道、分销或全民经纪人陪同到访时选择（R-FLOOR-1）"),
      input("询客前已由顾问引领", { tag: "select", name: "led_in_by", options: [option("", "无"), ...duty.queue.map((c) => option(c.id, c.name))] }),
    ], "登记到访", async (data, key) => {
      const body = {
        party_size: Number(data.get("party_size")),
        greeted: data.get("greeted") === "on",
        phone: trim(data, "phone"),
        // with the phone only: it resolves a masked registration (隐号报备)
        name: trim(data, "phone") ? trim(data, "name") : undefined,
        accompanied_by: trim(data, "accompanied_by"),
        led_in_by: trim(data, "led_in_by"),
      };
      const visit = await post("v1/visits", body, key);
      notify("ok", "已登记到访", `${clock(visit.arrived_at)} 到访，客户 ${phoneOf(visit)}，${visit.party_size} 人`);
      await refresh();
    }, { keyed: true });

    fill(main,
      h("div", { class: "columns" }, arrival, rotationCard(duty)),
      section(`今日来访（${day}）`, visitList(visits.data, duty)),
      stayed.length ? section(`昨天未登记离开（${yesterday.date}）`, visitList(stayed, duty)) : null,
    );
  }

  function rotationCard(duty) {
    return section("今日轮排", duty.queue.length
      ? h("ol", { class: "queue" }, duty.queue.map((c) => h("li", { class: duty.next && duty.next.id === c.id ? "next" : null }, c.name, duty.next && duty.next.id === c.id ? h("span", { class: "badge" }, "下一位") : null)))
      : h("p", { class: "empty" }, "今日还没有排班，请销售经理排班。"));
  }

  function visitList(visits, duty) {
    if (!visits.length) return h("p", { class: "empty" }, "今天还没有来访登记");
    const latest = visits.slice().sort((a, b) => b.arrived_at.localeCompare(a.arrived_at) || b.id.localeCompare(a.id));
    return h("ul", { class: "visits" }, latest.map((v) => visitCard(v, duty)));
  }

  // before 判客 nobody knows whether a form is owed (R-FLOOR-5)
  function formText(v) {
    if (v.form_state === "not_required" && !v.decision && !v.departed_at) return "判客后确定";
    return FORM_STATES[v.form_state] || v.form_state;
  }

  function decisionText(v) {
    if (!v.decision) return "待判客";
    return `已判客：${v.decision.registrant_id ? who(v.decision.registrant_id) : "—"}（${KINDS[v.decision.kind] || v.decision.kind}）`;
  }

  function visitCard(v, duty) {
    const card = h("li", { class: "visit", "data-visit": v.id },
      h("div", { class: "line" },
        h("strong", {}, `${clock(v.arrived_at)} 到访`),
        h("span", {}, phoneOf(v)),
        h("span", {}, nameOf(v)),
        h("span", {}, `${v.party_size} 人`),
        v.accompanied_by ? h("span", {}, `陪同：${who(v.accompanied_by)}`) : null,
        v.greeted ? null : h("span", { class: "badge warn" }, "未完成询客")),
      h("div", { class: "line small" },
        h("span", {}, decisionText(v)),
        h("span", {}, `接待顾问：${v.consultant_id ? who(v.consultant_id) : "未分配"}`),
        h("span", {}, `确认单：${formText(v)}`),
        h("span", {}, v.departed_at ? `${clock(v.departed_at)} 离开` : "在场")));
    const actions = h("div", { class: "actions" });
    if (!v.consultant_id) actions.append(button("分配顾问", () => assignPanel(card, v, duty)));
    if (!v.departed_at) {
      actions.append(button("登记离开", async () => {
        const text = `将登记客户 ${nameOf(v) || phoneOf(v)}（${clock(v.arrived_at)} 到访）现在离开。登记后不能撤回。`;
        if (!(await confirmAction("登记离开？", text, "确认离开"))) return;
        const done = await post(`v1/visits/${v.id}/departure`, {});
        notify("ok", "已登记离开", `${clock(done.departed_at)} 离开，客户 ${phoneOf(done)}`);
        await refresh();
      }));
    }
    card.append(actions);
    return card;
  }

  // R-FLOOR-3: the next consultant in turn; one who is busy is skipped with a reason
  function assignPanel(card, visit, duty) {
    const existing = card.querySelector(".assign");
    if (existing) existing.remove();
    const skipped = [];
    const start = duty.next ? duty.queue.findIndex((c) => c.id === duty.next.id) : 0;
    const order = duty.queue.slice(start).concat(duty.queue.slice(0, start));
    const panel = h("div", { class: "assign" });
    const render = () => {
      const candidate = order.find((c) => !skipped.some((s) => s.consultant_id === c.id));
      const reason = input("跳过原因", { name: "skip_reason", maxlength: 200, placeholder: "如：正在接待其他客户" });
      fill(panel, 
        h("p", {}, candidate ? `轮到：${candidate.name}` : "轮排中已没有可分配的顾问"),
        skipped.length ? h("p", { class: "small" }, `已跳过：${skipped.map((s) => `${who(s.consultant_id)}（${s.reason}）`).join("、")}`) : null,
        candidate ? reason : null,
        h("div", { class: "actions" },
          candidate ? button(`分配给 ${candidate.name}`, async () => {
            const done = await post(`v1/visits/${visit.id}/assignment`, skipped.length ? { skip: skipped } : {});
            known([done.consultant]);
            notify("ok", "已分配顾问", `客户由 ${done.consultant.name} 接待（${clock(done.at)}）`);
            await refresh();
          }) : null,
          candidate ? button("跳过此顾问", () => {
            const text = reason.querySelector("input").value.trim();
            if (!text) {
              notifyAt(card, "error", "请填写跳过原因", "被跳过的顾问保留下一次轮到的机会（R-FLOOR-3）。");
              return;
            }
            skipped.push({ consultant_id: candidate.id, reason: text });
            render();
          }, { class: "quiet" }) : null,
          button("取消", () => panel.remove(), { class: "quiet" })));
    };
    render();
    card.append(panel);
  }

  // -- 渠道助理 channel assistant ------------------------------------------------------

  async function judge(main) {
    const result = h("div", { id: "judge-result" });
    const lookup = form("判客：按手机号查询客户", [
      input("客户手机号", { name: "phone", type: "tel", inputmode: "tel", required: true, autocomplete: "off" }, "任意格式：138 1234 5678、+86-138…"),
    ], "查询", (data) => lookUp(trim(data, "phone") || ""));
    main.append(lookup, result);
  }

  function claimsView(customer, phone) {
    for (const c of customer.live_claims) if (c.holder_name) names.set(c.holder_id, c.holder_name);
    const waiting = customer.masked_claim;
    return [
      section(`客户 ${customer.phone_masked}`,
        h("p", {}, customer.known ? `已推荐 ${customer.recommendations} 次（最多 2 次，R-PROT-1）` : "系统中还没有这位客户的报备"),
        h("h3", {}, "有效报备"),
        table(["报备方", "类型", "状态", "第几次", "保护开始", "保护结束"], customer.live_claims.map((c) => [
          c.holder_name || c.holder_id, KINDS[c.kind] || c.kind, CLAIM_STATES[c.status] || c.status,
          c.ordinal ? `第 ${c.ordinal} 次` : "—", when(c.since), when(c.until),
        ]), waiting ? "没有有效报备；有一条隐号报备待匹配，请先按客户姓名匹配（见下）" : "没有有效报备：可以作为自然到访客户接待"),
        h("details", {}, h("summary", {}, "查看全部记录"),
          table(["时间", "事项", "依据", "操作方"], customer.history.map((e) => [when(e.at), ACTIONS[e.action] || "其他记录", ruleText(e.rule), who(e.actor)])))),
      waiting ? maskedClaimView(customer, waiting, phone) : null,
    ];
  }

  // 隐号报备 (decision 0013): a registration by the masked number holds this
  // number's mask until the visit; the visitor's name (its surname) decides
  // whether it is this customer's
  const RESOLVED = {
    resolved: ["ok", "已匹配：该报备现为有效保护"],
    surname_differs: ["error", "姓氏不符，未匹配"],
    none: ["ok", "没有待匹配的隐号报备"],
  };

  function maskedClaimView(customer, m, phone) {
    const holder = m.holder_name || m.holder_id;
    const kind = KINDS[m.kind] || "报备方";
    const card = h("section", { class: "card masked-claim" },
      h("h2", {}, "隐号报备"),
      h("p", {}, `隐号报备待匹配：${holder}（${kind}），报备于 ${when(m.since)}，保留至 ${when(m.until)}，登记姓氏：${m.surname}`),
      h("p", { class: "small" }, "该报备只登记了手机号前 3 后 4 位，可能是这位客户，也可能是尾号相同的另一位。请询问到访客户的姓名：姓氏相符才匹配。"));
    card.append(form("按到访客户姓名匹配", [
      input("到访客户姓名", { name: "name", required: true, maxlength: 64, autocomplete: "off" }),
    ], "匹配隐号报备", async (data) => {
      const name = trim(data, "name");
      if (!name) throw new Missing("name", "请填写到访客户的姓名。");
      const text = `客户 ${customer.phone_masked}（${name}）将与 ${holder}（${kind}）的隐号报备核对姓氏：相符时该报备成为这位客户的报备，开始保护，不能撤销；不符时这位客户视为尾号相同的另一位，可以正常报备。`;
      if (!(await confirmAction("匹配隐号报备？", text, "确认匹配"))) return;
      const done = await post("v1/masked-claims/resolutions", { phone, name });
      const refusal = done.refusal;
      if (done.outcome === "refused" && refusal) {
        notify("error", `未匹配：已拒绝（${refusal.rule}）`,
          CODES[refusal.code] || "该报备不能成为这位客户的报备。",
          h("span", {}, h("span", { class: "rule" }, refusal.rule), ` ${RULES[refusal.rule] || RULE_TITLES[refusal.rule] || ""}`),
          "这条隐号报备已失效。",
          technical(`代码 ${refusal.code}`, refusal.message));
      } else {
        const [tone, title] = RESOLVED[done.outcome] || ["error", "操作未完成，请刷新后查看。"];
        const c = done.claim;
        const line = done.outcome === "resolved" && c
          ? `${c.holder_name || c.holder_id}（${KINDS[c.kind] || "报备方"}）· ${CLAIM_STATES[c.status] || "有效"}${c.ordinal ? ` · 第 ${c.ordinal} 次推荐` : ""} · 保护至 ${when(c.until)}`
          : done.outcome === "surname_differs"
            ? `“${name}”与登记姓氏“${m.surname}”不同：这位客户是尾号相同的另一位，可以正常报备；该隐号报备继续为其客户保留至 ${when(m.until)}。`
            : null;
        notify(tone, title, line);
      }
      await lookUp(phone);
    }, { className: "inner" }));
    return card;
  }

  function judgeVisit(v, customer, phone) {
    const card = section(`${when(v.arrived_at)} 的到访`,
      h("p", {}, `${v.party_size} 人 · ${decisionText(v)} · 接待顾问：${who(v.consultant_id)} · 确认单：${formText(v)}`));
    const claims = customer.live_claims;
    if (!v.decision) {
      card.append(h("div", { class: "actions" }, claims.map((c) => button(`判给 ${c.holder_name || c.holder_id}`, async () => {
        const text = `客户 ${customer.phone_masked} 的这次到访将归属 ${c.holder_name || "该报备方"}（${KINDS[c.kind] || "报备方"}），其报备开始或继续保护。之后只能由渠道助理写明原因改判。`;
        if (!(await confirmAction(`判给 ${c.holder_name || "该报备方"}？`, text, "确认判给"))) return;
        await post(`v1/visits/${v.id}/decisions`, { registration_id: c.registration_id });
        notify("ok", "判客完成", `客户归属：${c.holder_name || c.holder_id}（${KINDS[c.kind] || c.kind}）`);
        await lookUp(phone);
      }))));
    } else if (claims.some((c) => c.registration_id !== v.decision.registration_id)) {
      card.append(form("改判", [
        input("改判给", { tag: "select", name: "registration_id", options: claims.filter((c) => c.registration_id !== v.decision.registration_id).map((c) => option(c.registration_id, c.holder_name || c.holder_id)) }),
        input("改判原因", { name: "reason", required: true, maxlength: 200 }),
      ], "确认改判", async (data) => {
        await post(`v1/visits/${v.id}/decisions`, { registration_id: data.get("registration_id"), replaces: v.decision.id, reason: trim(data, "reason") });
        notify("ok", "已改判");
        await lookUp(phone);
      }, { className: "inner" }));
    }
    if (!v.signed_in_at) card.append(signInForm(v, phone));
    else card.append(h("p", { class: "small" }, `已签到（${clock(v.signed_in_at)}）`));
    return card;
  }

  // the customer's claims and visits, looked up again after every change
  async function lookUp(phone) {
    const [customer, visits] = await Promise.all([post("v1/customer-lookups", { phone }), post("v1/visit-lookups", { phone })]);
    fill($("judge-result"), ...claimsView(customer, phone), ...visits.data.slice().reverse().map((v) => judgeVisit(v, customer, phone)));
  }

  // R-FLOOR-4: one customer per household
  function signInForm(visit, phone) {
    const rows = h("div", { class: "households" });
    const renumber = () => [...rows.children].forEach((set, i) => {
      set.querySelector("legend").textContent = `第 ${i + 1} 户`;
      set.querySelector("[data-part=name]").name = `name${i + 1}`;
      set.querySelector("[data-part=phone]").name = `phone${i + 1}`;
    });
    const addRow = (name = "", tel = "") => {
      if (rows.children.length >= 10) {
        notify("error", "一次最多签到 10 户");
        return;
      }
      const set = h("fieldset", { class: "household" }, h("legend", {}),
        input("姓名", { "data-part": "name", value: name, required: true, maxlength: 64 }),
        input("手机号", { "data-part": "phone", type: "tel", value: tel, required: true }));
      if (rows.children.length) set.append(h("button", { type: "button", class: "quiet", onclick: () => { set.remove(); renumber(); } }, "删除这一户"));
      rows.append(set);
      renumber();
    };
    addRow("", phone);
    return form("签到（每户一位客户）", [
      rows,
      h("div", { class: "actions" }, h("button", { type: "button", class: "quiet", onclick: () => addRow() }, "再添一户")),
    ], "签到", async (data) => {
      const households = [];
      for (let n = 1; n <= rows.children.length; n++) {
        const name = trim(data, `name${n}`);
        const tel = trim(data, `phone${n}`);
        if (name || tel) households.push({ name: name || "", phone: tel || "" });
      }
      const done = await post(`v1/visits/${visit.id}/sign-ins`, { households });
      notify("ok", "签到完成", `${done.data.length} 户：${done.data.map((d) => `${nameOf(d)}（${phoneOf(d)}）`).join("、")}`);
      await lookUp(phone);
    }, { className: "inner" });
  }

  async function formsScreen(main) {
    const day = h("input", { type: "date", id: "forms-day", value: today() });
    const body = h("div");
    await recommenders();
    const load = async () => {
      const doc = await get("v1/forms", { date: day.value });
      fill(body, ...["overdue", "pending", "filed", "exempt"].map((state) => section(
        `${FORM_STATES[state]}（${doc[state].length}）`,
        table(["到访", "客户", "接待顾问", "判给", "截止"], doc[state].map((v) => [
          when(v.arrived_at), customerText(v), who(v.consultant_id),
          v.decision ? who(v.decision.registrant_id) : "—", when(v.form_due_at),
        ])))));
    };
    main.append(h("div", { class: "card toolbar" }, h("label", { for: "forms-day" }, "日期"), day, button("查看", load)), body);
    await load();
  }

  async function reportScreen(main) {
    const day = h("input", { type: "date", id: "report-day", value: today() });
    const body = h("div");
    const load = async () => {
      const doc = await get("v1/reports/daily", { date: day.value });
      fill(body, section(`渠道日报 ${doc.date}（生成于 ${when(doc.generated_at)}）`,
        table(["报备方", "类型", "成功", "被拒", "被拒原因", "到访", "确认单已填", "豁免", "待填", "逾期"], doc.rows.map((r) => [
          r.name || r.registrant_id, KINDS[r.kind] || r.kind, r.accepted, r.refused,
          r.refusals.map((x) => (x.rule ? `${ruleText(x.rule)}${x.count} 次` : `${CODES[x.code] || "其他原因"} ${x.count} 次`)).join("；") || "—",
          r.visits, r.forms_filed, r.forms_exempt, r.forms_pending, r.forms_overdue,
        ])),
        h("p", {}, `合计：成功 ${doc.totals.accepted}，被拒 ${doc.totals.refused}，到访 ${doc.totals.visits}`)));
    };
    main.append(h("div", { class: "card toolbar" },
      h("label", { for: "report-day" }, "日期"), day, button("查看", load),
      button("下载 CSV（Excel）", () => download("v1/reports/daily", { date: day.value, format: "csv" }, `渠道日报-${day.value}.csv`))), body);
    await load();
  }

  // -- 置业顾问 consultant -------------------------------------------------------------

  const TENURES = { walk_in: "自然到访报备", floor: "轮排接待", pool: "公共池分配" };
  const STANDING = { protected: "报备保护中", unprotected: "无报备保护", converted: "已成交" };

  async function myCustomers(main) {
    const rows = [];
    const body = h("div");
    const more = async (cursor) => {
      const doc = await get("v1/staff/me/customers", cursor ? { cursor } : { limit: 50 });
      rows.push(...doc.data);
      fill(body, 
        table(["客户", "状态", "来源", "归我跟进自", "最近到访", "报备保护至", "将收回公共池"], rows.map((c) => [
          h("span", {}, h("strong", {}, c.name || "未留姓名"), ` ${c.phone_masked || ""}`), STANDING[c.state] || c.state, TENURES[c.how] || c.how, when(c.since), when(c.last_visit_at),
          c.protection ? `${when(c.protection.ends_at)}（第 ${c.protection.ordinal} 次推荐）` : "—", when(c.reclaim_at),
        ]), "暂时没有归您跟进的客户"),
        doc.next_cursor ? h("div", { class: "actions" }, button("加载更多", () => more(doc.next_cursor), { class: "quiet" })) : null);
    };
    main.append(section("我的客户", h("p", { class: "small" }, "最近到访的在前；最后一次到访满 3 个月且未成交的客户，在每月 1 日收回公共池（R-RECLAIM-1）。"), body));
    await more(null);
  }

  async function myForms(main) {
    const doc = await openForms();
    const open = doc.open;
    main.append(section(`待填带看确认单（昨天和今天）`, open.length ? h("div", {}, open.map((v) => form(
      `${when(v.arrived_at)} 到访 · ${customerText(v)} · ${FORM_STATES[v.form_state]}`,
      [input("带看情况", { tag: "textarea", name: "note", required: true, maxlength: 500, rows: 2, placeholder: "如：看了 3 号楼样板间" }, "必填：写明客户看了什么（R-FLOOR-5）")],
      "提交确认单", async (data) => {
        const note = trim(data, "note");
        if (!note) throw new Missing("note", "请填写带看情况：确认单要写明客户看了什么（R-FLOOR-5）。");
        const text = `将为 ${customerText(v)}（${when(v.arrived_at)} 到访）提交带看确认单。提交后不能修改。`;
        if (!(await confirmAction("提交确认单？", text, "确认提交"))) return;
        await post(`v1/visits/${v.id}/form`, { note });
        notify("ok", "确认单已提交", `${customerText(v)} ${when(v.arrived_at)} 的到访`);
        await refresh();
      }, { className: "inner" }))) : h("p", { class: "empty" }, "没有待填写的确认单")),
    section(`已提交（${doc.filed.length}）`, table(["到访", "客户", "提交时间"], doc.filed.map((v) => [when(v.arrived_at), customerText(v), when(v.form && v.form.filed_at)]))));
  }

  async function registerScreen(main) {
    const people = await recommenders();
    main.append(form("报备客户（自然到访或全民经纪人）", [
      input("客户姓名", { name: "name", required: true, maxlength: 64 }),
      input("客户手机号", { name: "phone", type: "tel", required: true }),
      input("到访时间", { name: "visit_at", type: "datetime-local" }, "北京时间，留空为现在；须当天报备（R-REG-1）"),
      input("备注", { name: "note", maxlength: 500 }),
      h("fieldset", {}, h("legend", {}, "全民经纪人带客时填写（R-REG-4）"),
        input("经纪人", { tag: "select", name: "broker_id", options: [option("", "无（自然到访）"), ...people.brokers.map((b) => option(b.id, b.name))] }, "只列出已经甲方认证的经纪人"),
        input("经纪人身份证号", { name: "id_card", autocomplete: "off" })),
    ], "提交报备", async (data, key) => {
      const body = {
        customer: { name: trim(data, "name") || "", phone: trim(data, "phone") || "" },
        visit_at: trim(data, "visit_at") ? fromLocalInput(String(data.get("visit_at"))) : stampFor(key),
        note: trim(data, "note"),
      };
      const brokerId = trim(data, "broker_id");
      if (brokerId || trim(data, "id_card")) body.broker = { broker_id: brokerId || "", id_card: trim(data, "id_card") || "" };
      const done = await post("v1/consultant-registrations", body, key);
      notify("ok", "报备成功", `${done.customer.name}（${done.customer.phone_masked}）：${CLAIM_STATES[done.status] || done.status}`,
        done.protection ? `保护期 ${when(done.protection.starts_at)} 至 ${when(done.protection.ends_at)}` : null);
    }, { keyed: true }));
  }

  // -- 销售经理 sales manager ------------------------------------------------------------

  async function poolScreen(main) {
    const doc = await get("v1/pool");
    known(doc.consultants);
    const picks = doc.consultants.map((c) => [c.id, c.name]);
    const rows = doc.data.map((c, i) => {
      const choose = h("select", { name: `to${i}`, "aria-label": `${c.phone_masked} 分配给` },
        c.suggested_consultant_id ? null : option("", "请选择"), picks.map(([id, name]) => option(id, name, id === c.suggested_consultant_id)));
      const tick = h("input", { type: "checkbox", name: `pick${i}`, checked: true, "aria-label": `选中 ${c.phone_masked}` });
      return { c, choose, tick };
    });
    const assign = button("分配选中的客户", async () => {
      const assignments = rows.filter((r) => r.tick.checked).map((r) => ({ customer_id: r.c.customer_id, consultant_id: r.choose.value }));
      if (!assignments.length) {
        notify("error", "请先选择客户");
        return;
      }
      const done = await post("v1/pool/assignments", { assignments });
      const missed = done.data.filter((r) => !r.assigned).length;
      notify("ok", "分配完成", `已分配 ${done.data.length - missed} 位客户`,
        missed ? `${missed} 位已不在公共池（已被分配或重新到访），未作改动` : null);
      await refresh();
    });
    main.append(section(`公共池（${doc.data.length} 位客户，按入池先后）`,
      h("p", { class: "small" }, "建议的顾问按轮询分配；可逐个改选。依据 R-RECLAIM-1：原顾问不再分享成交。"),
      table(["选中", "客户", "入池时间", "最近到访", "原顾问", "分配给"], rows.map(({ c, choose, tick }) => [
        tick, c.phone_masked || "—", when(c.pooled_at), when(c.last_visit_at), who(c.previous_consultant_id), choose,
      ]), "公共池里没有客户"),
      doc.data.length ? h("div", { class: "actions" }, assign) : null));
  }

  // R-FLOOR-3: who is on duty, in turn; the front desk's rotation follows it
  async function rosterScreen(main) {
    const day = h("input", { type: "date", id: "roster-day", value: today() });
    const body = h("div");
    const load = async () => {
      const shown = day.value;
      const [duty, pool] = await Promise.all([roster(shown), get("v1/pool")]);
      known(pool.consultants);
      const onDuty = duty.queue.map((c) => c.id);
      const everyone = [...new Set([...onDuty, ...pool.consultants.map((c) => c.id)])];
      const ticks = everyone.map((id) => checkbox(who(id), { name: "on_duty", value: id, checked: onDuty.includes(id) }));
      fill(body, form(`${shown} 的排班（按轮排顺序）`, [
        ticks.length ? ticks : h("p", { class: "empty" }, "没有在岗的置业顾问"),
      ], "保存排班", async (data) => {
        const saved = await put(`v1/rosters/${shown}`, { consultants: data.getAll("on_duty") });
        notify("ok", "排班已保存", `${saved.date}：${saved.queue.map((c) => c.name).join("、") || "无人值班"}`);
        await load();
      }));
    };
    main.append(h("div", { class: "card toolbar" }, h("label", { for: "roster-day" }, "日期"), day, button("查看", load)), body);
    await load();
  }

  async function lateScreen(main) {
    const [people, consultants] = await Promise.all([recommenders(), directory("consultant")]);
    const consultant = picker("或置业顾问", "consultant", staffChoices(consultants.filter((c) => c.enabled)), { hint: "为置业顾问的自然到访补录时选择，优先于上面的报备方" });
    main.append(form("补录审批（R-REG-1、R-REG-2）", [
      input("客户手机号", { name: "phone", type: "tel", required: true }),
      input("报备方", { tag: "select", name: "registrant_id", options: recommenderOptions(people) }),
      consultant,
      input("到访日期", { name: "visit_date", type: "date", required: true }),
      input("补录原因", { name: "reason", required: true, maxlength: 200 }),
    ], "批准补录", async (data) => {
      const consultantId = picked(data, consultant, "置业顾问");
      const done = await post("v1/late-approvals", {
        phone: trim(data, "phone") || "",
        registrant_id: consultantId || trim(data, "registrant_id") || "",
        visit_date: String(data.get("visit_date")),
        reason: trim(data, "reason") || "",
      });
      notify("ok", "已批准补录", `客户 ${done.phone_masked}，${done.visit_date} 的到访，补录截止 ${when(done.valid_until)}`);
    }));
  }

  async function finesScreen(main) {
    const day = today();
    const [proposed, appealed, people, staff, visitsToday, visitsBefore] = await Promise.all([
      get("v1/fines", { status: "proposed" }), get("v1/fines", { status: "appealed" }), recommenders(), directory(),
      get("v1/visits", { date: day }), get("v1/visits", { date: dayBefore(day) }),
    ]);
    const line = (f) => [f.rule, RULES[f.rule] ? RULES[f.rule].split("：")[0] : "", who(f.payer_id), `${f.amount} 元`, when(f.occurred_at), f.customer_masked || "—", f.note || "—"];
    main.append(
      section(`待确认的违规（${proposed.data.length}）`, table(["规则", "违规", "责任人", "金额", "发生时间", "客户", "说明", "处理"], proposed.data.map((f) => [
        ...line(f),
        h("div", { class: "actions" },
          button("确认罚款", async () => { await post(`v1/fines/${f.id}/decision`, { action: "confirm" }); notify("ok", "已确认罚款", `${f.rule} · ${f.amount} 元`); await refresh(); }),
          button("不予处罚", async () => { await post(`v1/fines/${f.id}/decision`, { action: "dismiss" }); notify("ok", "已驳回", f.rule); await refresh(); }, { class: "quiet" })),
      ]), "没有待确认的违规")),
      section(`待处理的申诉（${appealed.data.length}）`, table(["规则", "违规", "责任人", "金额", "发生时间", "客户", "说明", "申诉理由", "处理"], appealed.data.map((f) => [
        ...line(f), f.appeal ? f.appeal.reason : "—",
        h("div", { class: "actions" },
          button("维持罚款", async () => { await post(`v1/fines/${f.id}/appeal-decision`, { outcome: "upheld" }); notify("ok", "已维持罚款", f.rule); await refresh(); }),
          button("撤销罚款", async () => { await post(`v1/fines/${f.id}/appeal-decision`, { outcome: "cancelled" }); notify("ok", "已撤销罚款", f.rule); await refresh(); }, { class: "quiet" })),
      ]), "没有待处理的申诉")),
      recordFine(staff, people, [...visitsToday.data, ...visitsBefore.data]));
  }

  // who pays each violation (R-FINE): a consultant, the front desk, or the channel
  const PAYERS = { "R-FINE-1": "consultant", "R-FINE-2": "front_desk", "R-FINE-3": "consultant", "R-FINE-4": "consultant", "R-FINE-5": "channel" };

  // today's and yesterday's visits, latest first, by customer, time and who received them
  const visitChoices = (visits) => choices(visits.slice().sort((a, b) => b.arrived_at.localeCompare(a.arrived_at)).map((v) => ({
    id: v.id,
    text: `${when(v.arrived_at)} ${nameOf(v) || phoneOf(v)}${nameOf(v) ? `（${phoneOf(v)}）` : ""} · 接待 ${v.consultant_id ? who(v.consultant_id) : "未分配"}`,
  })));

  function recordFine(staff, people, visits) {
    const payersOf = (kind) => (PAYERS[kind] === "channel"
      ? choices(people.registrants.filter((r) => r.kind === "channel").map((r) => ({ id: r.id, text: `${r.name}（渠道）` })))
      : staffChoices(staff.filter((s) => s.role === PAYERS[kind])));
    const kind = input("违规类型", { tag: "select", name: "kind", options: Object.keys(PAYERS).map((r) => option(r, `${RULE_TITLES[r]}（${r}）`)) });
    const payer = picker("责任人", "payer", payersOf("R-FINE-1"), { required: true, hint: "输入姓名搜索；R-FINE-5 选择渠道" });
    const visit = picker("到访（可不填）", "visit", visitChoices(visits), { placeholder: "输入客户姓名、手机尾号或时间搜索", hint: "只列出今天和昨天的到访" });
    kind.querySelector("select").addEventListener("change", (event) => {
      setChoices(payer, payersOf(event.target.value));
      const typed = payer.querySelector("input");
      if (!payer.choices.some((c) => c.text === typed.value)) typed.value = "";
    });
    // the consultant who received the visit is the likely one to pay (R-FINE-1, -3, -4)
    visit.querySelector("input").addEventListener("change", (event) => {
      const chosen = visit.choices.find((c) => c.text === event.target.value);
      const v = chosen && visits.find((one) => one.id === chosen.id);
      const typed = payer.querySelector("input");
      const mine = v && v.consultant_id && payer.choices.find((c) => c.id === v.consultant_id);
      if (mine && !typed.value) typed.value = mine.text;
    });
    return form("登记违规", [kind, payer, visit, input("说明", { name: "note", maxlength: 500 })], "登记", async (data) => {
      const body = { kind: data.get("kind"), payer_id: picked(data, payer, "责任人"), visit_id: picked(data, visit, "到访"), note: trim(data, "note") };
      const fine = await post("v1/fines", body);
      notify("ok", "违规已登记", `${who(fine.payer_id)} · ${ruleText(fine.rule)} · ${fine.amount} 元 · ${FINE_STATES[fine.status] || "已登记"}`);
    });
  }

  async function statementScreen(main, me) {
    const month = h("input", { type: "month", id: "statement-month", value: thisMonth() });
    const manager = ["sales_manager", "site_manager", "party_a_admin"].includes(me.role);
    let payers = [];
    if (manager) {
      const [staff, people] = await Promise.all([directory(), recommenders()]);
      payers = [...staffChoices(staff), ...choices(people.registrants.map((r) => ({ id: r.id, text: `${r.name}（${KINDS[r.kind] || "报备方"}）` })))];
    }
    const payer = h("input", { type: "text", id: "statement-payer", list: "statement-payers", autocomplete: "off", placeholder: "留空为本人；输入姓名搜索" });
    const payerList = h("datalist", { id: "statement-payers" }, payers.map((c) => h("option", { value: c.text })));
    const body = h("div");
    const params = () => {
      const p = { month: month.value };
      const text = payer.value.trim();
      if (text) {
        const partial = payers.filter((c) => c.text.includes(text));
        const found = payers.find((c) => c.text === text) || (partial.length === 1 ? partial[0] : null) || payers.find((c) => c.id === text);
        if (!found) throw new Missing("", "请从列表中选择责任人（可输入姓名的一部分搜索）。");
        p.payer = found.id;
      }
      return p;
    };
    const load = async () => {
      const doc = await get("v1/fines/statement", params());
      fill(body, section(`${who(doc.payer_id)} ${doc.month} 罚款明细`,
        h("p", {}, `应缴合计 ${doc.total_due} 元 · 申诉中 ${doc.under_appeal} 元 · 待确认 ${doc.proposed} 元`),
        table(["规则", "发生时间", "金额", "状态", "说明", "申诉"], doc.fines.map((f) => [
          ruleText(f.rule), when(f.occurred_at), `${f.amount} 元`, FINE_STATES[f.status] || f.status, f.note || "—",
          f.appeal ? `${f.appeal.reason}${f.appeal.decided_at ? `（${when(f.appeal.decided_at)} 已处理）` : ""}`
            : doc.payer_id === me.id && f.status === "due" ? appealForm(f) : "—",
        ]))));
    };
    // R-FINE: the one fined appeals a confirmed fine once, with a reason
    const appealForm = (f) => form(`申诉 ${f.rule}`, [input("申诉理由", { name: "reason", required: true, maxlength: 200 })], "提交申诉", async (data) => {
      await post(`v1/fines/${f.id}/appeal`, { reason: trim(data, "reason") || "" });
      notify("ok", "申诉已提交", `${f.rule} · ${f.amount} 元，等待经理处理`);
      await load();
    }, { className: "inner" });
    main.append(h("div", { class: "card toolbar" },
      h("label", { for: "statement-month" }, "月份"), month,
      manager ? [h("label", { for: "statement-payer" }, "责任人"), payer, payerList] : null,
      button("查看", load),
      button("下载 CSV（Excel）", () => download("v1/fines/statement", { ...params(), format: "csv" }, `罚款明细-${month.value}.csv`))), body);
    await load();
  }

  // -- 案场经理 site manager -------------------------------------------------------------

  async function exemptionScreen(main) {
    const { open } = await openForms();
    main.append(section("待处理的确认单（昨天和今天，待填写或逾期）", open.length ? h("div", {}, open.map((v) => form(
      `${when(v.arrived_at)} 到访 · ${customerText(v)} · 接待：${who(v.consultant_id)} · ${FORM_STATES[v.form_state]}`,
      [
        input("豁免类型", { tag: "select", name: "kind", options: Object.entries(EXEMPTIONS).map(([k, t]) => option(k, t)) }),
        input("说明", { name: "note", maxlength: 500 }),
      ],
      "签字豁免", async (data) => {
        await post(`v1/visits/${v.id}/exemption`, { kind: data.get("kind"), note: trim(data, "note") });
        notify("ok", "已豁免", `${phoneOf(v)}：${EXEMPTIONS[data.get("kind")]}（R-FLOOR-5）`);
        await refresh();
      }, { className: "inner" }))) : h("p", { class: "empty" }, "昨天和今天没有待填写或逾期的确认单")));
  }

  // -- 甲方管理员 Party A admin ------------------------------------------------------------

  // an id an operator may need: cut with an ellipsis on a narrow screen, whole on hover
  const idCell = (id) => h("span", { class: "id", title: id }, id);

  function shownOnce(title, label, secret) {
    notify("ok", title, h("span", {}, `${label}（只显示这一次，请立即交给对方妥善保存）：`), h("code", { class: "secret" }, secret));
  }

  async function registrantsScreen(main) {
    const doc = await get("v1/registrants");
    main.append(
      form("新建报备方", [
        input("类型", { tag: "select", name: "kind", options: ["channel", "distribution", "ecommerce"].map((k) => option(k, KINDS[k])) }),
        input("名称", { name: "name", required: true, maxlength: 64 }),
      ], "新建", async (data) => {
        const made = await post("v1/registrants", { kind: data.get("kind"), name: trim(data, "name") || "" });
        await refresh();
        shownOnce(`已新建报备方 ${made.name}（${made.id}）`, "签名密钥", made.secret);
      }),
      section("报备方", table(["编号", "名称", "类型", "状态", "操作"], doc.registrants.map((r) => [
        idCell(r.id), r.name, KINDS[r.kind] || r.kind, r.enabled ? "启用" : "已停用",
        h("div", { class: "actions" },
          button(r.enabled ? "停用" : "启用", async () => {
            if (r.enabled && !(await confirmAction(`停用 ${r.name}？`, `停用后，${r.name} 的签名请求立即被拒绝，不能再报备客户；之后可以重新启用。`, "确认停用"))) return;
            await post(`v1/registrants/${r.id}/enabled`, { enabled: !r.enabled });
            notify("ok", `${r.name} 已${r.enabled ? "停用" : "启用"}`, r.enabled ? "它的签名请求从现在起被拒绝（401）。" : null);
            await refresh();
          }, { class: "quiet" }),
          button("更换密钥", async () => {
            const text = `将为 ${r.name} 生成新的签名密钥。旧密钥只再可用 24 小时，之后 ${r.name} 必须改用新密钥，否则报备会被拒绝。`;
            if (!(await confirmAction(`更换 ${r.name} 的密钥？`, text, "确认更换"))) return;
            const made = await post(`v1/registrants/${r.id}/secret`, { at_once: false });
            shownOnce(`${r.name} 的新密钥`, `旧密钥在 ${when(made.previous_secret_valid_until)} 前仍可用；新密钥`, made.secret);
          }, { class: "quiet" })),
      ]))));
  }

  async function brokersScreen(main) {
    const doc = await get("v1/brokers");
    main.append(
      form("认证全民经纪人（R-REG-4）", [
        input("姓名", { name: "name", required: true, maxlength: 64 }),
        input("手机号", { name: "phone", type: "tel", required: true }),
        input("身份证号", { name: "id_card", required: true, autocomplete: "off" }),
      ], "认证", async (data) => {
        const made = await post("v1/brokers", { name: trim(data, "name") || "", phone: trim(data, "phone") || "", id_card: trim(data, "id_card") || "" });
        notify("ok", "已认证", `${made.name}（${made.id}）`);
        await refresh();
      }),
      section("全民经纪人", table(["编号", "姓名", "手机号", "身份证后四位", "状态", "认证时间", "有效至", "操作"], doc.brokers.map((b) => [
        idCell(b.id), b.name, b.phone_masked, b.id_card_last4 || "—",
        b.revoked_at ? `已撤销（${when(b.revoked_at)}）` : b.expires_at && new Date(b.expires_at) <= serverNow() ? "已过期" : "已认证",
        when(b.certified_at), b.expires_at ? when(b.expires_at) : "长期",
        !b.revoked_at ? button("撤销认证", async () => {
          const text = `撤销后，${b.name} 不能再推荐客户（R-REG-4）；撤销不能恢复，须重新认证。`;
          if (!(await confirmAction(`撤销 ${b.name} 的认证？`, text, "确认撤销"))) return;
          await post(`v1/brokers/${b.id}/revocation`, {});
          notify("ok", `已撤销 ${b.name} 的认证`);
          await refresh();
        }, { class: "quiet" }) : "—",
      ]))));
  }

  async function staffScreen(main, me) {
    const doc = await get("v1/staff");
    main.append(
      form("新增员工", [
        input("姓名", { name: "name", required: true, maxlength: 64 }),
        input("岗位", { tag: "select", name: "role", options: Object.entries(ROLE_NAMES).map(([k, t]) => option(k, t)) }),
      ], "新增", async (data) => {
        const made = await post("v1/staff", { name: trim(data, "name") || "", role: data.get("role") });
        await refresh();
        shownOnce(`已新增 ${made.name}（${ROLE_NAMES[made.role]}）`, "登录令牌", made.token);
      }),
      section("员工", table(["编号", "姓名", "岗位", "状态", "操作"], doc.staff.map((s) => [
        idCell(s.id), s.name, ROLE_NAMES[s.role] || s.role, s.enabled ? "在岗" : "已停用",
        h("div", { class: "actions" },
          s.id === me.id ? null : button(s.enabled ? "停用" : "启用", async () => {
            if (s.enabled && !(await confirmAction(`停用 ${s.name}？`, `停用后，${s.name} 的令牌立即不能登录；之后可以重新启用。`, "确认停用"))) return;
            await post(`v1/staff/${s.id}/enabled`, { enabled: !s.enabled });
            notify("ok", `${s.name} 已${s.enabled ? "停用" : "启用"}`, s.enabled ? "其令牌从现在起不能登录。" : null);
            await refresh();
          }, { class: "quiet" }),
          button("签发令牌", async () => {
            const made = await post(`v1/staff/${s.id}/tokens`, {});
            shownOnce(`${s.name} 的新令牌`, "登录令牌", made.token);
          }, { class: "quiet" })),
      ]))));
  }

  // screens kept in a file of their own (dashboard.js: the managers' charts;
  // deliveries.js: Party A's event pushes) register on window and draw into
  // the screen with the helpers they are handed
  function screenFrom(global) {
    return async (main, who) => {
      const screen = window[global];
      if (!screen) {
        main.append(h("p", {}, "此页面暂不可用"));
        return;
      }
      await screen.render(main, { get, call, newKey, h, fill, section, table, form, input, button, notify, showError, when, today, role: who.role, zone: ZONE });
    };
  }
  const dashboardScreen = screenFrom("SalesDashboard");
  const deliveriesScreen = screenFrom("SalesDeliveries");
  const appealsScreen = screenFrom("SalesAppeals");

  // -- roles and their screens -------------------------------------------------------

  const SCREENS = {
    visits: ["来访与轮排", frontDesk],
    judge: ["判客与签到", judge],
    forms: ["确认单", formsScreen],
    report: ["渠道日报", reportScreen],
    customers: ["我的客户", myCustomers],
    myforms: ["带看确认单", myForms],
    register: ["报备客户", registerScreen],
    pool: ["公共池分配", poolScreen],
    late: ["补录审批", lateScreen],
    roster: ["排班", rosterScreen],
    fines: ["违规与申诉", finesScreen],
    statement: ["罚款明细", statementScreen],
    exemptions: ["确认单豁免", exemptionScreen],
    registrants: ["报备方", registrantsScreen],
    brokers: ["全民经纪人", brokersScreen],
    staff: ["员工", staffScreen],
    dashboard: ["看板", dashboardScreen],
    deliveries: ["事件推送", deliveriesScreen],
    appeals: ["判客申诉", appealsScreen],
  };

  const ROLE_SCREENS = {
    front_desk: ["visits", "statement"],
    channel_assistant: ["judge", "forms", "report", "statement"],
    consultant: ["customers", "myforms", "register", "statement"],
    sales_admin: ["report", "forms", "statement"],
    sales_manager: ["pool", "late", "roster", "fines", "appeals", "statement", "dashboard"],
    site_manager: ["exemptions", "appeals", "fines", "statement", "dashboard"],
    party_a_admin: ["registrants", "brokers", "staff", "statement", "dashboard", "deliveries"],
  };

  let me = null;
  let showing = 0; // only the screen asked for last may replace the page
  let current = null;

  // after a change: the screen again, from what the API says now
  const refresh = () => show(current);

  async function show(name) {
    const ticket = ++showing;
    const screens = ROLE_SCREENS[me.role];
    const screen = screens.includes(name) ? name : screens[0];
    current = screen;
    if (location.hash !== `#${screen}`) history.replaceState(null, "", `#${screen}`);
    for (const tab of $("tabs").children) tab.setAttribute("aria-current", tab.dataset.screen === screen ? "page" : "false");
    const [title, render] = SCREENS[screen];
    const fresh = h("main", { id: "main", "aria-label": title, "data-screen": screen });
    say("加载中…");
    try {
      await render(fresh, me);
    } catch (error) {
      if (ticket === showing) showError(error);
    }
    if (ticket !== showing) return;
    say("");
    $("main").replaceWith(fresh);
  }

  function tabs() {
    const nav = $("tabs");
    fill(nav, ...ROLE_SCREENS[me.role].map((name) => h("a", {
      href: `#${name}`,
      "data-screen": name,
      onclick: () => clearNotice(),
    }, SCREENS[name][0])));
    nav.hidden = false;
  }

  function signInScreen(message) {
    $("who").hidden = true;
    $("tabs").hidden = true;
    const main = h("main", { id: "main", "data-screen": "sign-in" }, form("员工登录", [
      input("员工令牌", { name: "token", type: "password", required: true, autocomplete: "off", spellcheck: "false" }, "由甲方管理员签发；只保存在本标签页，关闭后即失效"),
    ], "登录", async (data) => {
      sessionStorage.setItem(TOKEN_KEY, String(data.get("token")).trim());
      try {
        await start();
      } catch (error) {
        sessionStorage.removeItem(TOKEN_KEY);
        throw error;
      }
    }));
    $("main").replaceWith(main);
    if (message) notify("error", message);
    main.querySelector("input").focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    me = null;
    showing += 1; // a screen still loading must not come back
    names.clear();
    clearNotice();
    history.replaceState(null, "", location.pathname);
    signInScreen(typeof message === "string" ? message : null);
  }

  async function start() {
    me = await get("v1/staff/me");
    names.set(me.id, me.name);
    // consultants' names for the ids visits carry, where the role may read the roster
    if (ROSTER_READERS.includes(me.role)) await roster(today());
    $("who-name").textContent = me.name;
    $("who-role").textContent = ROLE_NAMES[me.role] || me.role;
    $("who").hidden = false;
    tabs();
    await show(location.hash.slice(1));
  }

  document.addEventListener("DOMContentLoaded", async () => {
    $("sign-out").addEventListener("click", () => signOut());
    // the browser's back and forward buttons move between the screens
    window.addEventListener("hashchange", () => {
      if (me && location.hash.slice(1) !== current) {
        clearNotice();
        show(location.hash.slice(1));
      }
    });
    if (!token()) {
      signInScreen();
      return;
    }
    try {
      await start();
    } catch (error) {
      sessionStorage.removeItem(TOKEN_KEY);
      signInScreen(error instanceof ApiError && error.status === 401 ? "登录已失效，请重新输入令牌" : null);
    }
  });
})();
