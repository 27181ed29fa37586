"""What an unannounced visit checks at a project's sites: a starter list per kind of project
from its acceptance standard, and publishing an edited list as a new version.

Like questionnaires, a checklist is never changed in place: every save publishes the next
version, and a recorded visit keeps the wording it was checked against.
"""

from sqlalchemy.orm import Session

from survey.accounts.models import User
from survey.accounts.services import Actor, record
from survey.sites.models import ChecklistVersion, Project


def _items(required: bool, *texts: str) -> list[dict]:
    return [{"text": text, "required": required} for text in texts]


#: What a visit checks when the project's kind has no acceptance standard in the seeds.
GENERAL_CHECKLIST = _items(
    False,
    "场所正常开放，标识标牌清楚",
    "服务人员在岗",
    "收费标准、服务标准和服务流程公示",
    "服务记录完整",
    "环境整洁，设施设备安全可用",
)

#: 康养联合体: the acceptance standard of seed 000 §一(一)5 (考核验收标准), every item required.
CARE_UNION_CHECKLIST = _items(
    True,
    "在养老服务机构内建有相应的康复区域（实地查看）",
    "与医疗机构、康复机构建立康养联合机制（合作协议）",
    "配备具备专业能力的康养服务人员不少于 3 类（劳动合同及工资单，或合作协议及专业资格证书）",
    "配备不同康复器械不少于 3 种，制定收费标准、服务标准和服务流程（现场查看）",
    "开展实质康养服务（服务案例和服务记录）",
)

#: 居家养老服务照料中心: the 提升指南 of seed 003 附件2; required items are its 必备, the
#: others its 可选 (a row mixing both is split).
DAY_CARE_CHECKLIST = [
    *_items(
        True,
        "建筑面积不少于 300 平方米",
        "醒目位置悬挂统一的照料中心标识牌、功能区标识、安全疏散标识；装修温馨、简洁、实用",
        "地面防滑处理、加装扶手、消除地面高差、增设无障碍通道",
    ),
    *_items(False, "3 楼及以上加装电梯（爬楼机）"),
    *_items(True, "卫生间和浴室等私密场所安装紧急呼叫器"),
    *_items(False, "卫生间和浴室等私密场所安装红外跌倒感应"),
    *_items(
        True,
        "出入口和除卫生间、浴室等私密场所外的服务场所视频监控全覆盖",
        "提供助餐助行、助浴助洁、文体娱乐、代办代购、心理慰藉、康复辅具租赁服务",
        "医疗保健服务每年不少于 10 次",
        "技能培训（老年营养、家庭照护、智慧产品使用等）每年不少于 5 场",
        "在醒目位置公示服务项目和价格",
        "安装人脸识别系统，有流量智能管控，与市级“互联网+养老”系统数据交换",
    ),
    *_items(False, "自动测温、老年人家属服务提醒等智能服务，健康管理、人身安全监护等智能设备"),
    *_items(
        True,
        "建立特殊困难老年人“一对一”邻里互助结对制度，开展电话问候、入户探访",
        "制定居家老年人紧急救援预案，建立专兼职救援队伍，紧急救援全过程有记录",
        "专职管理员 1 名，专兼职服务人员不少于 2 人",
        "对服务的老年人进行养老需求评估和信息建档，各项服务有记录",
        "配备相应的消防设施、设备；开设食堂的取得《食品经营许可证》",
        "落实卫生防疫管理：公共区域定期消毒、触摸区域擦拭消毒、场所通风",
    ),
    *_items(False, "开设老年用品销售点、家政便民服务点等服务区域"),
]

#: Starter kind (``survey.questionnaires.starters.STARTERS``) → its checklist.
STARTER_CHECKLISTS = {
    "general": GENERAL_CHECKLIST,
    "care_union": CARE_UNION_CHECKLIST,
    "day_care": DAY_CARE_CHECKLIST,
    "canteen": GENERAL_CHECKLIST,
}


def checklist_items(project: Project) -> list[dict]:
    """The items a visit to one of the project's sites checks now."""
    current = project.current_checklist
    return [dict(item) for item in (current.items if current else GENERAL_CHECKLIST)]


def checklist_number(project: Project) -> int:
    """The number of the checklist version a visit checks now (0: the general list, the
    project has none of its own)."""
    current = project.current_checklist
    return current.number if current else 0


def starter_checklist(
    session: Session, project: Project, kind: str, actor: User | None = None
) -> ChecklistVersion:
    """Give a new project the checklist of its kind (the general one for a kind without its
    own) as version 1. Never commits."""
    items = [dict(item) for item in STARTER_CHECKLISTS.get(kind, GENERAL_CHECKLIST)]
    version = ChecklistVersion(
        project=project, number=1, items=items, created_by_id=actor and actor.id
    )
    session.add(version)
    return version


def publish_checklist(
    session: Session, project: Project, items: list[dict], actor: Actor
) -> ChecklistVersion | None:
    """Publish ``items`` (validated ``{"text", "required"}`` dicts) as the project's next
    checklist version and log it. Returns the version, or None when nothing changed.
    Call with the project locked (saves take turns). Never commits."""
    if items == checklist_items(project):
        return None
    current = project.current_checklist
    number = current.number + 1 if current else 1
    version = ChecklistVersion(
        project=project, number=number, items=items, created_by_id=actor.user.id
    )
    session.add(version)
    session.flush()
    required = sum(1 for item in items if item["required"])
    record(
        session,
        "checklist_published",
        actor,
        (f"{project.name}：暗访检查项第{version.number}版，{len(items)}项（必备 {required} 项）"),
    )
    return version
