"""The questionnaire a project gets unless it asks for another: short, plain, one minute."""

DEFAULT_QUESTIONS = [
    {
        "key": "overall",
        "kind": "satisfaction",
        "prompt": "总的来说，您对这里的服务满意吗？",
        "required": True,
    },
    {
        "key": "attitude",
        "kind": "choice",
        "prompt": "服务人员的态度怎么样？",
        "options": ["好", "一般", "不好"],
    },
    {
        "key": "facilities",
        "kind": "choice",
        "prompt": "这里的环境和设施怎么样？",
        "options": ["好", "一般", "不好"],
    },
    {
        "key": "services",
        "kind": "choice",
        "prompt": "这里的服务合您的需要吗？",
        "options": ["合需要", "一般", "不合需要"],
    },
]
