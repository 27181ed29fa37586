"""The 进度标准 of each kind of project, from the seeds: the milestones a site passes, what
evidence shows each, and the day of the project's year each is planned by. A project starts
with its kind's; admins and the city edit them per project (survey.progress.services)."""

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Standard:
    percent: int
    name: str
    evidence: str
    #: (month, day) in the project's year.
    planned: tuple[int, int]

    def planned_on(self, year: int) -> date:
        """The planned day in a project of ``year``."""
        return date(year, *self.planned)


#: 康养联合体, seed 000 §一(二) and §二 (10 月 15 日前 开展康养服务).
CARE_UNION = (
    Standard(20, "确定项目建设点位", "基础信息录入系统", (4, 30)),
    Standard(40, "制定实施方案及落实建设资金保障", "方案经县（市、区）民政局审核确认", (5, 30)),
    Standard(60, "完成康复场所建设", "器械采购验收记录单及现场照片", (9, 30)),
    Standard(80, "建立康复养老专业化队伍", "劳务合同或合作协议及专业资格证书", (9, 30)),
    Standard(100, "开展康养服务", "服务案例及项目完成信息录入民生实事系统", (10, 15)),
)
#: 居家养老服务照料中心改造提升, seed 003 三(二): 3 月底前确定改造对象并制定改造方案, 6 月底
#: 前完成 50 %, 9 月底前 75 %, 10 月底前 100 % — the city's shares of the work, read per site
#: as the same steps.
DAY_CARE = (
    Standard(25, "确定改造对象并制定改造方案", "改造方案", (3, 31)),
    Standard(50, "完成一半改造工作", "施工记录及现场照片", (6, 30)),
    Standard(75, "完成设施适老化改造", "验收记录单及现场照片", (9, 30)),
    Standard(100, "完成改造提升并开展服务", "服务记录及项目完成信息录入系统", (10, 31)),
)


def standards_for(project_name: str) -> tuple[Standard, ...]:
    """The seed's milestones for a project of this name: a project keeps no kind of its own
    (its starter questionnaire is copied, not named), and the two seeds' projects say theirs
    in their names."""
    return DAY_CARE if "照料中心" in project_name else CARE_UNION
