"""The people inside the sales office, and what each role may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    FRONT_DESK = "front_desk"  # 前台
    CONSULTANT = "consultant"  # 置业顾问
    CHANNEL_ASSISTANT = "channel_assistant"  # 渠道助理
    SALES_ADMIN = "sales_admin"  # 销管
    SALES_MANAGER = "sales_manager"  # 销售经理
    SITE_MANAGER = "site_manager"  # 案场经理
    PARTY_A_ADMIN = "party_a_admin"  # 甲方管理员


MANAGERS = frozenset({Role.SALES_MANAGER, Role.SITE_MANAGER, Role.PARTY_A_ADMIN})
EVERYONE = frozenset(Role)

# the floor (R-FLOOR-2..5): who reads the visitor log, and who reviews the
# day's channel work (R-REG-2, R-FLOOR-5)
FLOOR_READERS = MANAGERS | {Role.FRONT_DESK, Role.CHANNEL_ASSISTANT, Role.SALES_ADMIN}
REVIEWERS = MANAGERS | {Role.CHANNEL_ASSISTANT, Role.SALES_ADMIN}
ROSTER_KEEPERS = frozenset({Role.SALES_MANAGER, Role.SITE_MANAGER})
# 判客 lookups: who sees every claim on a customer, and who may look one up
# at all (the front desk sees only whether the customer is known)
LOOKUP_FULL_VIEW = frozenset(
    {
        Role.CHANNEL_ASSISTANT,
        Role.SALES_ADMIN,
        Role.SALES_MANAGER,
        Role.SITE_MANAGER,
        Role.PARTY_A_ADMIN,
    }
)
LOOKUP_ROLES = LOOKUP_FULL_VIEW | {Role.FRONT_DESK}


@dataclass(frozen=True)
class Staff:
    staff_id: str
    name: str
    role: Role
    enabled: bool


def reads_visit(reader: Staff, received_by: str | None) -> bool:
    """Who may read one visit (it names the customer): the floor roles any
    visit, a consultant only one they received (R-FLOOR-3)."""
    if reader.role in FLOOR_READERS:
        return True
    return reader.role is Role.CONSULTANT and received_by == reader.staff_id
