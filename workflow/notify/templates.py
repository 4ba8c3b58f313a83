"""Short texts per message key in zh-CN and English; the engine only stores keys and params.

``render(key, params, language=…, zone=…)`` gives a subject and a body. Deadlines are shown
in the reader's time zone. Unknown keys render as the key itself, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..calendar import DEFAULT_ZONE, local_text

LANGUAGES = ("zh-CN", "en")

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "task_opened": {
        "zh-CN": ("【待办】{title}", "「{title}」(#{instance_id}) 已到「{state}」，"
                  "等待您处理。{due_line}"),
        "en": ("To do: {title}", "\"{title}\" (#{instance_id}) is waiting for you at {state}."
               "{due_line}"),
    },
    "instance_moved": {
        "zh-CN": ("【进展】{title}", "「{title}」(#{instance_id}) 已从「{from}」转到「{to}」。"),
        "en": ("Update: {title}", "\"{title}\" (#{instance_id}) moved from {from} to {to}."),
    },
    "copied": {
        "zh-CN": ("【抄送】{title}", "「{title}」(#{instance_id}) 在「{state}」抄送给您，请知悉。"),
        "en": ("Copied to you: {title}", "\"{title}\" (#{instance_id}) at {state} was copied "
               "to you for your information."),
    },
    "urged": {
        "zh-CN": ("【催办】{title}", "提交人催促办理「{title}」(#{instance_id})，"
                  "当前在「{state}」。{due_line}"),
        "en": ("Urged: {title}", "The proposer asks you to act on \"{title}\" (#{instance_id}) "
               "at {state}.{due_line}"),
    },
    "flagged": {
        "zh-CN": ("【提示】{title}", "「{title}」(#{instance_id}) 被标记：{reason}"),
        "en": ("Flagged: {title}", "\"{title}\" (#{instance_id}) was flagged: {reason}"),
    },
    "nobody_eligible": {
        "zh-CN": ("【无人可办】{title}", "「{title}」(#{instance_id}) 已到「{state}」，但该环节"
                  "没有可以办理的人（提交人和团队成员须回避）。请在管理中把该环节的角色授予"
                  "另一位合适的人员。"),
        "en": ("Nobody can act: {title}", "\"{title}\" (#{instance_id}) reached {state}, but "
               "nobody eligible holds the step's role (the item's own people stand aside). "
               "Please grant the role to someone else in Admin."),
    },
    "reminder.before": {
        "zh-CN": ("【催办】{title}", "「{title}」(#{instance_id}) 在「{state}」"
                  "将于 {due} 到期，请及时处理。"),
        "en": ("Reminder: {title}", "\"{title}\" (#{instance_id}) at {state} is due {due}."),
    },
    "reminder.overdue": {
        "zh-CN": ("【逾期】{title}", "「{title}」(#{instance_id}) 在「{state}」"
                  "已于 {due} 逾期，请尽快处理。"),
        "en": ("Overdue: {title}", "\"{title}\" (#{instance_id}) at {state} was due {due}."),
    },
    "escalation": {
        "zh-CN": ("【督办】{title}", "「{title}」(#{instance_id}) 在「{state}」逾期未办"
                  "（经办：{holder}，期限 {due}），请督促办理。"),
        "en": ("Escalation: {title}", "\"{title}\" (#{instance_id}) is overdue at {state} "
               "(held by {holder}, due {due}); please follow up."),
    },
    "milestone.before": {
        "zh-CN": ("【里程碑】{title}", "「{title}」(#{instance_id}) 的里程碑「{name}」"
                  "将于 {due_date} 到期。"),
        "en": ("Milestone: {title}", "Milestone \"{name}\" of \"{title}\" (#{instance_id}) "
               "falls due on {due_date}."),
    },
    "milestone.missed": {
        "zh-CN": ("【里程碑逾期】{title}", "「{title}」(#{instance_id}) 的里程碑「{name}」"
                  "已于 {due_date} 到期未完成。"),
        "en": ("Milestone missed: {title}", "Milestone \"{name}\" of \"{title}\" "
               "(#{instance_id}) was due on {due_date} and is not done."),
    },
    "digest": {
        "zh-CN": ("【催办汇总】{day} 共 {count} 项",
                  "您有 {count} 项待办需要处理：\n{lines}{more_line}"),
        "en": ("Reminders for {day}: {count} item(s)", "{count} item(s) need your attention:\n"
               "{lines}{more_line}"),
    },
}

_ITEM = {
    "zh-CN": "- 「{title}」(#{instance_id}) {state}{due}{overdue}",
    "en": "- \"{title}\" (#{instance_id}) {state}{due}{overdue}",
}
_OVERDUE = {"zh-CN": "（已逾期）", "en": " (overdue)"}
_MORE = {"zh-CN": "\n……另有 {more} 项，请登录查看。", "en": "\n… and {more} more; please sign in."}
_ITEM_DUE = {"zh-CN": "，期限 {due}", "en": ", due {due}"}
_DUE_LINE = {"zh-CN": "期限 {due}。", "en": " Due {due}."}

Labeller = Callable[[str, str, str], str]
"""(workflow, state, language) → the state's label."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.body}"


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _language(language: str | None) -> str:
    if language and language.lower().startswith("en"):
        return "en"
    return "zh-CN"


def _due(value: Any, zone: ZoneInfo) -> str:
    if not value:
        return ""
    try:
        return local_text(datetime.fromisoformat(str(value)), zone)
    except ValueError:
        return str(value)


def _label(labels: Labeller | None, workflow: Any, state: Any, language: str) -> str:
    if labels is None or not workflow or not state:
        return str(state or "")
    try:
        return labels(str(workflow), str(state), language)
    except (KeyError, LookupError):
        return str(state)


def render(key: str, params: Mapping[str, Any], *, language: str | None = "zh-CN",
           zone: ZoneInfo = DEFAULT_ZONE, labels: Labeller | None = None,
           cap: int = 20) -> Rendered:
    """The subject and body of message ``key`` for a reader of ``language`` in ``zone``."""
    lang = _language(language)
    values = _Safe({k: v for k, v in params.items() if isinstance(k, str)})
    workflow = params.get("workflow")
    values["title"] = params.get("title") or f"#{params.get('instance_id', '')}"
    values["instance_id"] = params.get("instance_id", "")
    values["state"] = _label(labels, workflow, params.get("state"), lang)
    values["from"] = _label(labels, workflow, params.get("from"), lang)
    values["to"] = _label(labels, workflow, params.get("to"), lang)
    values["due"] = _due(params.get("due_at"), zone)
    values["due_line"] = _DUE_LINE[lang].format(due=values["due"]) if values["due"] else ""
    if key == "reminder":
        key = f"reminder.{params.get('stage', 'before')}"
    if key == "milestone":
        key = f"milestone.{params.get('stage', 'before')}"
    if key == "digest":
        items = list(params.get("items") or [])
        shown = items[:cap]
        more = len(items) - len(shown) + int(params.get("more") or 0)
        values["count"] = len(items) + int(params.get("more") or 0)
        values["lines"] = "\n".join(_ITEM[lang].format_map(_Safe(
            title=item.get("title") or f"#{item.get('instance_id', '')}",
            instance_id=item.get("instance_id", ""),
            state=_label(labels, item.get("workflow"), item.get("state"), lang),
            due=_ITEM_DUE[lang].format(due=_due(item.get("due_at"), zone))
            if item.get("due_at") else "",
            overdue=_OVERDUE[lang] if item.get("stage") == "overdue" else "",
        )) for item in shown)
        values["more_line"] = _MORE[lang].format(more=more) if more > 0 else ""
    texts = TEMPLATES.get(key)
    if texts is None:
        return Rendered(key, ", ".join(f"{k}={v}" for k, v in sorted(params.items())))
    subject, body = texts[lang]
    return Rendered(subject.format_map(values), body.format_map(values))
