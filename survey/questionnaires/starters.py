"""Starter questionnaires per kind of project: short, plain, at most five questions.

Each opens with the overall satisfaction question (``OVERALL_KEY``), so every project's
满意率 stays comparable. The topics come from the source documents: 康养联合体 (seed 000),
居家养老服务照料中心 (the 提升指南 in seed 003 附件2), 长者食堂.
"""

from survey.questionnaires.defaults import DEFAULT_QUESTIONS
from survey.questionnaires.models import OVERALL_KEY

_GOOD = ["好", "一般", "不好"]


def _overall(place: str) -> dict:
    return {
        "key": OVERALL_KEY,
        "kind": "satisfaction",
        "prompt": f"总的来说，您对这个{place}满意吗？",
        "required": True,
    }


def _choice(key: str, prompt: str, options: list[str] | None = None) -> dict:
    return {"key": key, "kind": "choice", "prompt": prompt, "options": options or _GOOD}


#: kind → (name as shown, questions as ``Question`` fields).
STARTERS: dict[str, tuple[str, list[dict]]] = {
    "general": ("通用", DEFAULT_QUESTIONS),
    "care_union": (
        "康养联合体",
        [
            _overall("康养联合体"),
            _choice("rehab", "康复服务对您有帮助吗？", ["有帮助", "一般", "没帮助"]),
            _choice("staff", "服务人员的态度怎么样？"),
            _choice("equipment", "康复器械和设施好用吗？", ["好用", "一般", "不好用"]),
        ],
    ),
    "day_care": (
        "居家养老服务照料中心",
        [
            _overall("照料中心"),
            _choice("meals", "这里的助餐（吃饭）服务怎么样？"),
            _choice("bathing", "助浴、助洁服务怎么样？"),
            _choice("activities", "文体娱乐活动怎么样？"),
            _choice("health", "医疗保健服务怎么样？"),
        ],
    ),
    "canteen": (
        "长者食堂",
        [
            _overall("长者食堂"),
            _choice("taste", "饭菜合您的口味吗？", ["合口味", "一般", "不合口味"]),
            _choice("price", "饭菜价格怎么样？", ["实惠", "一般", "偏贵"]),
            _choice("hygiene", "食堂干净卫生吗？", ["干净", "一般", "不干净"]),
        ],
    ),
}


def starter_questions(kind: str) -> list[dict]:
    """Fresh copies of the starter questions for ``kind`` (KeyError for an unknown kind)."""
    return [dict(question) for question in STARTERS[kind][1]]
