"""A demo organisation: departments, fields and one user per role, all with password ``demo``."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select

from . import org
from .models import Instance, table_of

if TYPE_CHECKING:
    from .engine import Engine

DEPARTMENTS = [
    ("smelting", "电解铝厂", "Smelting plant"),
    ("alumina", "氧化铝厂", "Alumina plant"),
    ("power", "动力厂", "Power plant"),
    ("maintenance", "检修中心", "Maintenance centre"),
    ("sta_office", "科技管理部", "S&T management department"),
    ("finance_dept", "财务部", "Finance department"),
]

FIELDS = [
    ("smelting", "冶炼", "Smelting"),
    ("equipment", "设备", "Equipment"),
    ("safety_environment", "安全环保", "Safety and environment"),
    ("it", "信息化", "IT"),
    ("management", "管理", "Management"),
]

USERS: list[tuple[str, str, str, list[str]]] = [
    ("demo_proposer", "王工 Wang", "smelting", []),
    ("demo_colleague", "李工 Li", "smelting", []),
    ("power_engineer", "赵工 Zhao", "power", []),
    ("head_smelting", "张主任 Zhang", "smelting", ["dept_head@smelting"]),
    ("head_power", "陈主任 Chen", "power", ["dept_head@power"]),
    ("expert_smelting_1", "刘专家 Liu", "alumina", ["expert@smelting"]),
    ("expert_smelting_2", "孙专家 Sun", "maintenance", ["expert@smelting"]),
    ("expert_smelting_3", "周专家 Zhou", "power", ["expert@smelting"]),
    ("expert_it_1", "吴专家 Wu", "maintenance", ["expert@it"]),
    ("expert_it_2", "郑专家 Zheng", "alumina", ["expert@it"]),
    ("chair_smelting", "冯主任委员 Feng", "alumina", ["subcommittee_chair@smelting"]),
    ("chair_it", "何主任委员 He", "maintenance", ["subcommittee_chair@it"]),
    ("committee_office", "委员会办公室 Office", "sta_office", ["committee_office"]),
    ("committee_member", "许委员 Xu", "alumina", ["committee_member"]),
    ("committee_member_2", "高委员 Gao", "power", ["committee_member"]),
    ("committee_member_3", "林委员 Lin", "maintenance", ["committee_member"]),
    ("committee_member_4", "罗委员 Luo", "sta_office", ["committee_member"]),
    ("committee_member_5", "梁委员 Liang", "smelting", ["committee_member"]),
    ("sta_admin", "科技管理部 Admin", "sta_office", ["sta_admin"]),
    ("sta_admin_2", "科技管理部 Tang", "sta_office", ["sta_admin"]),
    ("finance", "财务 Qian", "finance_dept", ["finance"]),
    ("finance_2", "财务 Jiang", "finance_dept", ["finance"]),
    ("general_manager", "总经理 Han", "sta_office", ["general_manager"]),
    ("auditor", "审计 Yang", "finance_dept", ["auditor"]),
]

PASSWORD = "demo"


def load(conn: Connection, *, now: datetime, password: str | None = PASSWORD
         ) -> list[org.UserInfo]:
    """Create the demo organisation; what already exists is left as it is.

    ``password=None`` leaves the users without one (tests skip the deliberate hashing cost).
    """
    known = set(conn.execute(select(org.DEPARTMENTS.c.code)).scalars())
    for code, zh, en in DEPARTMENTS:
        if code not in known:
            org.add_department(conn, code=code, name_zh=zh, name_en=en)
    known = set(conn.execute(select(org.FIELDS.c.code)).scalars())
    for code, zh, en in FIELDS:
        if code not in known:
            org.add_field(conn, code=code, name_zh=zh, name_en=en)
    existing = set(conn.execute(select(org.USERS.c.username)).scalars())
    for username, name, department, roles in USERS:
        if username not in existing:
            org.add_user(conn, username=username, name=name, department=department,
                         roles=roles, password=password, now=now)
    return org.list_users(conn)


def _example(definition: Any, state: str, action: str) -> dict[str, Any]:
    schema = definition.transitions_for(state, action)[0].schema
    return copy.deepcopy((schema.get("examples") or [{}])[0])


def start_work(engine: Engine) -> int:
    """Put a few items in flight, so that every demo role finds something in its inbox.

    Runs through the engine like any user would, and only on a database without instances.
    """
    with engine.db.read() as conn:
        if conn.execute(select(func.count()).select_from(table_of(Instance))).scalar():
            return 0
        people = {name: org.actor_by_username(conn, name) for name, _n, _d, _r in USERS}
    suggestion = engine.catalog.newest("suggestion").definition
    base = copy.deepcopy(suggestion.start_schema["examples"][0])
    titles = ["Reuse condensate from the evaporation line 蒸发冷凝水回用",
              "Automatic idler welding 托辊自动焊接",
              "Anode change tool rack 换极工具架改进",
              "Remote meter reading in the power plant 远程抄表",
              "Dust hood on the crusher 破碎机除尘罩"]
    started = 0
    steps = [[], ["approve"], ["approve", "score"], ["approve", "score", "adopt"],
             ["approve", "score", "adopt", "report_completion", "verify_benefit",
              "decide_reward", "confirm_list", "approve"]]
    actors = {"approve": ["head_smelting"], "adopt": ["committee_office"],
              "score": ["expert_smelting_1", "expert_smelting_2", "expert_smelting_3"],
              "report_completion": ["head_smelting"], "verify_benefit": ["finance"],
              "decide_reward": ["sta_admin"]}
    for title, path in zip(titles, steps, strict=True):
        view = engine.start("suggestion", actor=people["demo_proposer"],
                            data={**base, "title": title})
        view = engine.act(view.id, "submit", actor=people["demo_proposer"])
        for action in path:
            if action in ("confirm_list", "approve") and view.workflow == "payout":
                who = ["sta_admin_2"] if action == "confirm_list" else ["finance"]
            else:
                who = actors[action]
            for name in who:
                data = _example(engine.catalog.newest(view.workflow).definition, view.state, action)
                view = engine.act(view.id, action, actor=people[name], data=data)
            if view.workflow == "suggestion" and view.state == "closed":
                view = engine.get(view.links["payout"][0], actor=people["sta_admin_2"])
        started += 1
    return started
