"""Calling every route: a role each staff route admits (the rest are
refused before any input is read), and its path with ids filled in."""

from __future__ import annotations

import re

from chalicelib.rules.staff import Role

ROLE: dict[
    str | tuple[str, str], Role
] = {  # a role each staff route lets in; the rest is refused before any input is read
    "/v1/consultant-registrations": Role.CONSULTANT,
    "/v1/staff/me/customers": Role.CONSULTANT,
    "/v1/staff/directory": Role.SALES_MANAGER,
    "/v1/late-approvals": Role.SALES_MANAGER,
    "/v1/visits/{visit_id}/decisions": Role.CHANNEL_ASSISTANT,
    "/v1/visits/{visit_id}/sign-ins": Role.CHANNEL_ASSISTANT,
    "/v1/visits/{visit_id}/form": Role.CONSULTANT,
    "/v1/visits/{visit_id}/exemption": Role.SITE_MANAGER,
    "/v1/forms": Role.CHANNEL_ASSISTANT,
    "/v1/reports/daily": Role.SALES_ADMIN,
    "/v1/pool": Role.SALES_MANAGER,
    "/v1/pool/assignments": Role.SALES_MANAGER,
    "/v1/deals": Role.SALES_MANAGER,
    "/v1/fines/{fine_id}/decision": Role.SALES_MANAGER,
    "/v1/fines/{fine_id}/appeal-decision": Role.SALES_MANAGER,
    "/v1/fines/{fine_id}/appeal": Role.CONSULTANT,
    "/v1/fines/statement": Role.CONSULTANT,
    ("GET", "/v1/fines"): Role.SALES_MANAGER,
    ("PUT", "/v1/rosters/{day}"): Role.SALES_MANAGER,
    # Party A's console
    "/v1/registrants": Role.PARTY_A_ADMIN,
    "/v1/registrants/{registrant_id}/enabled": Role.PARTY_A_ADMIN,
    "/v1/registrants/{registrant_id}/secret": Role.PARTY_A_ADMIN,
    "/v1/brokers": Role.PARTY_A_ADMIN,
    "/v1/brokers/{broker_id}/revocation": Role.PARTY_A_ADMIN,
    "/v1/staff": Role.PARTY_A_ADMIN,
    "/v1/staff/{staff_id}/enabled": Role.PARTY_A_ADMIN,
    "/v1/staff/{staff_id}/tokens": Role.PARTY_A_ADMIN,
    # 事件推送 (decision 0010)
    "/v1/registrants/{registrant_id}/endpoint": Role.PARTY_A_ADMIN,
    "/v1/registrants/{registrant_id}/deliveries": Role.PARTY_A_ADMIN,
    "/v1/registrants/{registrant_id}/deliveries/{delivery_id}/replay": Role.PARTY_A_ADMIN,
    # 判客申诉 (decision 0012)
    ("POST", "/v1/appeals"): Role.SALES_MANAGER,
    ("GET", "/v1/appeals"): Role.SITE_MANAGER,
    "/v1/appeals/{appeal_id}/decision": Role.SITE_MANAGER,
}


def role_for(method: str, path: str) -> Role:
    """``path`` as the route declares it, or as sent (ids filled in)."""
    for (m, p), role in ((k if isinstance(k, tuple) else (method, k), v) for k, v in ROLE.items()):
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"
        if m == method and re.match(pattern, path):
            return role
    return Role.FRONT_DESK


def concrete(path: str) -> str:
    """A route's path with made-up ids, days and registrations filled in."""
    for name, value in (
        ("{visit_id}", "vi_x"),
        ("{fine_id}", "fn_x"),
        ("{day}", "2026-11-28"),
        ("{registration_id}", "rg_x"),
        ("{name}", "console.js"),
        ("{registrant_id}", "reg_x"),
        ("{broker_id}", "brk_x"),
        ("{staff_id}", "stf_x"),
        ("{delivery_id}", "ev_x"),
        ("{appeal_id}", "ap_x"),
    ):
        path = path.replace(name, value)
    return path
