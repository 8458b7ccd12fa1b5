"""CSV downloads that open correctly in Excel with Chinese text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any


def excel_csv(titles: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """UTF-8 with a byte-order mark (Excel otherwise guesses a legacy code
    page), CRLF line ends, and every cell text."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(titles)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def cell(value: Any) -> str:
    """Text Excel shows as text: a leading =, +, - or @ would start a formula
    (names and notes come from outside)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


# -- the words people read in the CSVs (the console says the same) ---------------

KIND_ZH = {
    "channel": "渠道",
    "distribution": "分销",
    "ecommerce": "电商",
    "broker": "全民经纪人",
    "consultant": "置业顾问",
}

# each rule of docs RULES.md by a short Chinese name, cited with its id
RULE_ZH = {
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
}

# why a registration was refused, when no rule says it better
CODE_ZH = {
    "VALIDATION_ERROR": "填写的内容有误",
    "INVALID_PHONE": "手机号码无效",
    "DUPLICATE_LIVE_CLAIM": "客户已有有效保护，重复报备无效",
    "MASKED_CLAIM_MATCH": "与隐号报备的号码（前3后4位）相符的客户已有有效报备，请到访时申请判客",
    "RECOMMENDATION_LIMIT": "已推荐两次，不再接受推荐",
    "REGISTRATION_TOO_LATE": "超过报备时限",
    "TOO_CLOSE_TO_VISIT": "距到访不足 30 分钟",
    "BROKER_NOT_CERTIFIED": "经纪人未认证或认证晚于报备",
    "BROKER_ID_MISMATCH": "身份证与认证记录不符",
}


def rule_zh(rule: str) -> str:
    """A rule as a person reads it: its Chinese name, its id to look it up."""
    name = RULE_ZH.get(rule)
    return f"{name}（{rule}）" if name else rule


def refusal_zh(code: str, rule: str | None, count: int) -> str:
    """A refusal reason and its count, in words: the code's Chinese name (or
    the rule's), the rule id in full-width brackets, then the count."""
    name = CODE_ZH.get(code) or (RULE_ZH.get(rule or "") if rule else None) or "其他原因"
    return f"{name}（{rule}）{count} 次" if rule else f"{name} {count} 次"
